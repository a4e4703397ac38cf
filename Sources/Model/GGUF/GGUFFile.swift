import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What is wrong with a GGUF file, and where.
public struct GGUFError: Error, CustomStringConvertible, Equatable {
    public enum Kind: String, Sendable {
        case cannotOpen, truncated, badMagic, unsupportedVersion, tooManyItems, stringTooLong
        case invalidUTF8, unknownValueType, nestedArrayTooDeep, duplicateKey, badAlignment
        case badTensorName, duplicateTensor, tooManyDimensions, badDimension, dimensionOverflow
        case unknownTensorType, misalignedRow, badTensorOffset, tensorOutsideFile
        case missingKey, wrongKeyType, badTokenizer, missingTensor, wrongTensorShape
    }
    public var kind: Kind
    public var message: String
    /// Byte offset in the file where the problem was found, when it has one.
    public var offset: Int?

    public init(_ kind: Kind, _ message: String, offset: Int? = nil) {
        self.kind = kind
        self.message = message
        self.offset = offset
    }

    public var description: String {
        if let offset { return "GGUF \(kind.rawValue) at byte \(offset): \(message)" }
        return "GGUF \(kind.rawValue): \(message)"
    }
}

/// One tensor's header entry; its data lives in the mapped file.
public struct GGUFTensorInfo: Sendable {
    public let name: String
    /// ggml order: dims[0] is the contiguous (row) length.
    public let dims: [Int]
    public let type: GGMLType
    /// Offset of the data from the start of the file.
    public let fileOffset: Int
    public let byteCount: Int
    public var elementCount: Int { dims.reduce(1, *) }
}

/// A memory-mapped GGUF file (versions 2 and 3): metadata parsed eagerly and checked,
/// tensor data left in the mapping and read in place.
///
/// Every length and count is checked against the bytes left before it is used, so a hostile
/// file produces a `GGUFError` naming the problem and its byte offset, never a crash or a huge
/// allocation (the class of bug behind CVE-2024-21802, CVE-2024-23605, CVE-2025-53630).
public final class GGUFFile: @unchecked Sendable {
    public let path: String
    public let version: UInt32
    public let alignment: Int
    /// Keys in file order and their values.
    public let keys: [String]
    public let metadata: [String: GGUFValue]
    public let tensors: [GGUFTensorInfo]
    public let tensorsByName: [String: Int]
    public let dataOffset: Int
    public let fileSize: Int

    private let base: UnsafeRawPointer
    private let mappedLength: Int
    /// Keeps an in-memory buffer alive when the file was given as bytes (tests).
    private let ownedBuffer: UnsafeMutableRawPointer?

    static let maxStringLength = 1 << 28
    static let maxTensorNameLength = 64 // GGML_MAX_NAME
    static let maxDimensions = 4
    static let maxArrayDepth = 4
    /// Metadata array elements in the whole file. Real vocabularies hold a few hundred thousand
    /// (tokens, merges, types); the cap bounds the memory a hostile file can make us spend.
    static let maxMetadataElements = 16_000_000

    /// Maps the file at `path` and parses its header.
    public convenience init(path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw GGUFError(.cannotOpen, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw GGUFError(.cannotOpen, "cannot stat \(path)")
        }
        let size = Int(st.st_size)
        guard size > 0 else { throw GGUFError(.truncated, "\(path) is empty", offset: 0) }
        guard let map = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), map != MAP_FAILED else {
            throw GGUFError(.cannotOpen, "cannot map \(path): \(String(cString: strerror(errno)))")
        }
        do {
            try self.init(path: path, base: UnsafeRawPointer(map), length: size, owned: nil)
        } catch {
            munmap(map, size)
            throw error
        }
    }

    /// Parses a GGUF image held in memory (copied), e.g. one a test built.
    public convenience init(bytes: [UInt8], name: String = "<memory>") throws {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
        bytes.withUnsafeBytes { src in
            if let s = src.baseAddress { buffer.copyMemory(from: s, byteCount: bytes.count) }
        }
        do {
            try self.init(path: name, base: UnsafeRawPointer(buffer), length: bytes.count, owned: buffer)
        } catch {
            buffer.deallocate()
            throw error
        }
    }

    private init(path: String, base: UnsafeRawPointer, length: Int, owned: UnsafeMutableRawPointer?) throws {
        self.path = path
        self.base = base
        self.mappedLength = length
        self.ownedBuffer = owned
        self.fileSize = length

        var r = ByteReader(base: base, count: length)
        let magic = try r.bytes(4, what: "magic")
        guard magic == Array("GGUF".utf8) else {
            throw GGUFError(.badMagic, "not a GGUF file (magic \(magic.map { String(format: "%02x", $0) }.joined()))", offset: 0)
        }
        let versionOffset = r.offset
        version = try r.u32("version")
        guard version == 2 || version == 3 else {
            throw GGUFError(.unsupportedVersion, "version \(version) (supported: 2, 3)", offset: versionOffset)
        }
        let tensorCountOffset = r.offset
        let tensorCount = try r.u64("tensor count")
        let kvCountOffset = r.offset
        let kvCount = try r.u64("metadata count")
        // Each KV takes at least 8 (key length) + 4 (type) + 1 bytes; each tensor info at least 8+4+8+4+8.
        guard kvCount <= UInt64(r.remaining / 13) else {
            throw GGUFError(.tooManyItems, "metadata count \(kvCount) cannot fit in the \(r.remaining) bytes left", offset: kvCountOffset)
        }
        guard tensorCount <= UInt64(r.remaining / 32) else {
            throw GGUFError(.tooManyItems, "tensor count \(tensorCount) cannot fit in the \(r.remaining) bytes left", offset: tensorCountOffset)
        }

        var keys: [String] = []
        var metadata: [String: GGUFValue] = [:]
        var alignmentValueOffset: Int? = nil
        keys.reserveCapacity(Int(kvCount))
        for _ in 0..<Int(kvCount) {
            let keyOffset = r.offset
            let key = try r.string("metadata key")
            // Keys are untrusted and may be megabytes long: messages quote an excerpt.
            let quoted = UntrustedText.excerpt(key)
            guard metadata[key] == nil else {
                throw GGUFError(.duplicateKey, "duplicate metadata key '\(quoted)'", offset: keyOffset)
            }
            let typeOffset = r.offset
            let rawType = try r.u32("type of '\(quoted)'")
            guard let type = GGUFValue.TypeID(rawValue: rawType) else {
                throw GGUFError(.unknownValueType, "key '\(quoted)' has unknown value type \(rawType)", offset: typeOffset)
            }
            if key == "general.alignment" { alignmentValueOffset = r.offset }
            metadata[key] = try r.value(type, key: quoted, depth: 0)
            keys.append(key)
        }
        self.keys = keys
        self.metadata = metadata

        var alignment = 32
        if let a = metadata["general.alignment"] {
            let at = alignmentValueOffset
            guard case .uint32(let v) = a else {
                throw GGUFError(.badAlignment, "general.alignment must be a uint32", offset: at)
            }
            guard v > 0, v & (v - 1) == 0 else {
                throw GGUFError(.badAlignment, "general.alignment \(v) is not a power of two", offset: at)
            }
            alignment = Int(v)
        }
        self.alignment = alignment

        struct Pending { var name: String; var dims: [Int]; var type: GGMLType; var offset: Int; var bytes: Int; var at: Int }
        var pending: [Pending] = []
        var byName: [String: Int] = [:]
        var expectedOffset = 0
        for index in 0..<Int(tensorCount) {
            let at = r.offset
            let name = try r.string("tensor name")
            guard !name.isEmpty, name.utf8.count < GGUFFile.maxTensorNameLength else {
                throw GGUFError(.badTensorName, "tensor \(index) has a name of \(name.utf8.count) bytes (must be 1..\(GGUFFile.maxTensorNameLength - 1))", offset: at)
            }
            guard byName[name] == nil else {
                throw GGUFError(.duplicateTensor, "duplicate tensor '\(UntrustedText.excerpt(name))'", offset: at)
            }
            let nDimsOffset = r.offset
            let nDims = try r.u32("dimension count of '\(name)'")
            guard nDims >= 1, nDims <= UInt32(GGUFFile.maxDimensions) else {
                throw GGUFError(.tooManyDimensions, "tensor '\(name)' has \(nDims) dimensions (1...\(GGUFFile.maxDimensions))", offset: nDimsOffset)
            }
            var dims: [Int] = []
            var elements = 1
            for d in 0..<Int(nDims) {
                let dimOffset = r.offset
                let raw = try r.u64("dimension \(d) of '\(name)'")
                guard raw <= UInt64(Int64.max) else {
                    throw GGUFError(.badDimension, "tensor '\(name)' dimension \(d) is negative or too large (\(raw))", offset: dimOffset)
                }
                let (product, overflow) = elements.multipliedReportingOverflow(by: Int(raw))
                guard !overflow, product <= Int(Int64.max) / 8 else {
                    throw GGUFError(.dimensionOverflow, "tensor '\(name)' element count overflows", offset: dimOffset)
                }
                elements = product
                dims.append(Int(raw))
            }
            let typeOffset = r.offset
            let rawType = try r.u32("type of '\(name)'")
            guard let type = GGMLType(rawValue: rawType) else {
                throw GGUFError(.unknownTensorType, "tensor '\(name)' has unknown or unsupported type \(rawType)", offset: typeOffset)
            }
            guard let rowBytes = type.rowBytes(dims[0]) else {
                throw GGUFError(.misalignedRow, "tensor '\(name)' row length \(dims[0]) is not a multiple of the \(type) block size \(type.blockSize)", offset: typeOffset)
            }
            let rows = dims.dropFirst().reduce(1, *)
            let (bytes, overflow) = rowBytes.multipliedReportingOverflow(by: rows)
            guard !overflow else {
                throw GGUFError(.dimensionOverflow, "tensor '\(name)' byte size overflows", offset: typeOffset)
            }
            let offsetAt = r.offset
            let rawOffset = try r.u64("data offset of '\(name)'")
            guard rawOffset == UInt64(expectedOffset) else {
                throw GGUFError(.badTensorOffset, "tensor '\(name)' data offset \(rawOffset) should be \(expectedOffset) (tensors are packed in order, each padded to \(alignment) bytes)", offset: offsetAt)
            }
            pending.append(Pending(name: name, dims: dims, type: type, offset: expectedOffset, bytes: bytes, at: at))
            byName[name] = index
            let (next, overflow2) = expectedOffset.addingReportingOverflow(GGUFFile.padded(bytes, alignment))
            guard !overflow2 else {
                throw GGUFError(.dimensionOverflow, "tensor '\(name)' pushes the data section past any file size", offset: offsetAt)
            }
            expectedOffset = next
        }

        let dataOffset = GGUFFile.padded(r.offset, alignment)
        self.dataOffset = dataOffset
        var infos: [GGUFTensorInfo] = []
        infos.reserveCapacity(pending.count)
        for p in pending {
            let start = dataOffset + p.offset
            guard start <= length, p.bytes <= length - start else {
                throw GGUFError(.tensorOutsideFile, "tensor '\(p.name)' data [\(start), \(start + p.bytes)) lies outside the \(length)-byte file", offset: p.at)
            }
            infos.append(GGUFTensorInfo(name: p.name, dims: p.dims, type: p.type, fileOffset: start, byteCount: p.bytes))
        }
        self.tensors = infos
        self.tensorsByName = byName
    }

    deinit {
        if let ownedBuffer {
            ownedBuffer.deallocate()
        } else {
            munmap(UnsafeMutableRawPointer(mutating: base), mappedLength)
        }
    }

    static func padded(_ n: Int, _ alignment: Int) -> Int {
        (n + alignment - 1) / alignment * alignment
    }

    // MARK: Access

    public func tensor(_ name: String) -> GGUFTensorInfo? {
        tensorsByName[name].map { tensors[$0] }
    }

    /// Pointer to a tensor's bytes inside the mapping; valid while this object lives.
    public func data(of tensor: GGUFTensorInfo) -> UnsafeRawPointer {
        base + tensor.fileOffset
    }

    public func int(_ key: String) throws -> Int {
        guard let v = metadata[key] else { throw GGUFError(.missingKey, "missing key '\(UntrustedText.excerpt(key))'") }
        guard let i = v.int else { throw GGUFError(.wrongKeyType, "key '\(UntrustedText.excerpt(key))' is not an integer") }
        return i
    }

    public func float(_ key: String) throws -> Double {
        guard let v = metadata[key] else { throw GGUFError(.missingKey, "missing key '\(UntrustedText.excerpt(key))'") }
        guard let f = v.float else { throw GGUFError(.wrongKeyType, "key '\(UntrustedText.excerpt(key))' is not a number") }
        return f
    }

    public func string(_ key: String) throws -> String {
        guard let v = metadata[key] else { throw GGUFError(.missingKey, "missing key '\(UntrustedText.excerpt(key))'") }
        guard let s = v.string else { throw GGUFError(.wrongKeyType, "key '\(UntrustedText.excerpt(key))' is not a string") }
        return s
    }
}

/// Bounds-checked little-endian reads over the mapping.
private struct ByteReader {
    let base: UnsafeRawPointer
    let count: Int
    var offset = 0
    /// Array elements read so far, against GGUFFile.maxMetadataElements.
    var elements = 0

    init(base: UnsafeRawPointer, count: Int) {
        self.base = base
        self.count = count
    }

    var remaining: Int { count - offset }

    mutating func need(_ n: Int, _ what: @autoclosure () -> String) throws {
        guard n >= 0, n <= remaining else {
            throw GGUFError(.truncated, "file ends inside \(what()) (needs \(n) bytes, \(remaining) left)", offset: offset)
        }
    }

    mutating func load<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        try need(MemoryLayout<T>.size, what())
        let v = T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += MemoryLayout<T>.size
        return v
    }

    mutating func u32(_ what: @autoclosure () -> String) throws -> UInt32 { try load(UInt32.self, what()) }
    mutating func u64(_ what: @autoclosure () -> String) throws -> UInt64 { try load(UInt64.self, what()) }

    mutating func bytes(_ n: Int, what: @autoclosure () -> String) throws -> [UInt8] {
        try need(n, what())
        let out = Array(UnsafeRawBufferPointer(start: base + offset, count: n))
        offset += n
        return out
    }

    mutating func string(_ what: @autoclosure () -> String) throws -> String {
        let at = offset
        let length = try u64("length of \(what())")
        guard length <= UInt64(GGUFFile.maxStringLength), length <= UInt64(remaining) else {
            throw GGUFError(.stringTooLong, "\(what()) claims \(length) bytes but \(remaining) are left", offset: at)
        }
        let n = Int(length)
        let buffer = UnsafeRawBufferPointer(start: base + offset, count: n)
        offset += n
        // Metadata is untrusted; invalid UTF-8 is replaced (U+FFFD) rather than trusted.
        return String(decoding: buffer, as: UTF8.self)
    }

    /// `key` is the excerpt of the key (`UntrustedText.excerpt`), used only in messages.
    mutating func value(_ type: GGUFValue.TypeID, key: String, depth: Int) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try load(UInt8.self, key))
        case .int8: return .int8(try load(Int8.self, key))
        case .uint16: return .uint16(try load(UInt16.self, key))
        case .int16: return .int16(try load(Int16.self, key))
        case .uint32: return .uint32(try load(UInt32.self, key))
        case .int32: return .int32(try load(Int32.self, key))
        case .uint64: return .uint64(try load(UInt64.self, key))
        case .int64: return .int64(try load(Int64.self, key))
        case .float32: return .float32(Float(bitPattern: try load(UInt32.self, key)))
        case .float64: return .float64(Double(bitPattern: try load(UInt64.self, key)))
        case .bool:
            let at = offset
            let b = try load(UInt8.self, key)
            guard b <= 1 else { throw GGUFError(.wrongKeyType, "key '\(key)' bool has value \(b)", offset: at) }
            return .bool(b == 1)
        case .string: return .string(try string("value of '\(key)'"))
        case .array:
            guard depth < GGUFFile.maxArrayDepth else {
                throw GGUFError(.nestedArrayTooDeep, "key '\(key)' nests arrays deeper than \(GGUFFile.maxArrayDepth)", offset: offset)
            }
            let typeAt = offset
            let rawType = try u32("array type of '\(key)'")
            guard let elementType = GGUFValue.TypeID(rawValue: rawType) else {
                throw GGUFError(.unknownValueType, "key '\(key)' is an array of unknown type \(rawType)", offset: typeAt)
            }
            let countAt = offset
            let count = try u64("array length of '\(key)'")
            guard count <= UInt64(remaining / elementType.minimumBytes) else {
                throw GGUFError(.tooManyItems, "key '\(key)' claims \(count) elements but only \(remaining) bytes are left", offset: countAt)
            }
            elements += Int(count)
            guard elements <= GGUFFile.maxMetadataElements else {
                throw GGUFError(.tooManyItems, "metadata arrays hold more than \(GGUFFile.maxMetadataElements) elements in all (at key '\(key)')", offset: countAt)
            }
            var items: [GGUFValue] = []
            items.reserveCapacity(Int(count))
            for _ in 0..<Int(count) {
                items.append(try value(elementType, key: key, depth: depth + 1))
            }
            return .array(items)
        }
    }
}
