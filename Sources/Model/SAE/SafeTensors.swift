import Foundation

/// A problem with a safetensors file; the message names the tensor or field and what is wrong.
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A safetensors file (https://github.com/huggingface/safetensors): an 8-byte little-endian header
/// length, a JSON header `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {..}}`,
/// then the tensor bytes. A hardened reader: the header length is bounded by the file and a cap,
/// dtypes must be known, each shape must match its byte range without overflow, and the ranges
/// must lie inside the data region, in order, without overlaps or holes.
public struct SafeTensorsFile: @unchecked Sendable {
    public enum DType: String, Sendable, CaseIterable {
        case f32 = "F32", f16 = "F16", bf16 = "BF16"
        // Integer tensors (a BERT checkpoint's position_ids) are read past, never as floats.
        case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u8 = "U8", bool = "BOOL"
        public var size: Int {
            switch self {
            case .f32, .i32: return 4
            case .f16, .bf16, .i16: return 2
            case .i64: return 8
            case .i8, .u8, .bool: return 1
            }
        }
        public var isFloat: Bool { self == .f32 || self == .f16 || self == .bf16 }
    }

    public struct TensorInfo: Sendable, Equatable {
        public let name: String
        public let dtype: DType
        public let shape: [Int]
        /// Byte range relative to the start of the data region.
        public let begin: Int
        public let end: Int
        public var count: Int { shape.reduce(1, *) }
    }

    /// The largest header this reader accepts.
    public static let maxHeaderBytes = 100 * 1024 * 1024

    public let tensors: [String: TensorInfo]
    public let metadata: [String: String]
    private let data: Data
    private let dataStart: Int

    public init(path: String) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw SafeTensorsError("cannot read \(path): \(error.localizedDescription)")
        }
        try self.init(data: data)
    }

    public init(data: Data) throws {
        self.data = data
        let size = data.count
        guard size >= 8 else { throw SafeTensorsError("file is \(size) bytes: too short for the 8-byte header length") }
        var headerLength: UInt64 = 0
        data.withUnsafeBytes { raw in
            for i in 0..<8 { headerLength |= UInt64(raw[raw.startIndex + i]) << (8 * UInt64(i)) }
        }
        guard headerLength <= UInt64(size - 8) else {
            throw SafeTensorsError("bad header length \(headerLength): the file has only \(size - 8) bytes after the length")
        }
        guard headerLength <= UInt64(Self.maxHeaderBytes) else {
            throw SafeTensorsError("bad header length \(headerLength): above the \(Self.maxHeaderBytes)-byte cap")
        }
        guard headerLength >= 2 else { throw SafeTensorsError("bad header length \(headerLength): too short for a JSON object") }
        let hlen = Int(headerLength)
        let headerData = data.subdata(in: data.startIndex + 8 ..< data.startIndex + 8 + hlen)
        guard headerData.first == UInt8(ascii: "{") else {
            throw SafeTensorsError("header is not a JSON object (it does not start with '{')")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: headerData)
        } catch {
            throw SafeTensorsError("header is not valid JSON")
        }
        guard let header = object as? [String: Any] else { throw SafeTensorsError("header is not a JSON object") }

        dataStart = 8 + hlen
        let dataSize = size - dataStart
        var metadata: [String: String] = [:]
        var tensors: [String: TensorInfo] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                guard let dict = value as? [String: Any] else { throw SafeTensorsError("__metadata__ is not an object") }
                for (k, v) in dict {
                    guard let s = v as? String else { throw SafeTensorsError("__metadata__ value for '\(UntrustedText.excerpt(k))' is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let entry = value as? [String: Any] else { throw SafeTensorsError("tensor '\(UntrustedText.excerpt(name))': entry is not an object") }
            guard let dtypeName = entry["dtype"] as? String else { throw SafeTensorsError("tensor '\(UntrustedText.excerpt(name))': missing dtype") }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw SafeTensorsError("tensor '\(UntrustedText.excerpt(name))': unknown dtype '\(UntrustedText.excerpt(dtypeName))' (supported: F32, F16, BF16, and I64, I32, I16, I8, U8, BOOL to skip)")
            }
            guard let shapeAny = entry["shape"] as? [Any] else { throw SafeTensorsError("tensor '\(UntrustedText.excerpt(name))': missing or bad shape") }
            var shape: [Int] = []
            var bytes = dtype.size
            for d in shapeAny {
                guard let n = Self.integer(d), n >= 0 else { throw SafeTensorsError("tensor '\(UntrustedText.excerpt(name))': shape has a bad dimension \(UntrustedText.excerpt(describing: d))") }
                shape.append(n)
                let (p, o) = bytes.multipliedReportingOverflow(by: n)
                guard !o else { throw SafeTensorsError("tensor '\(UntrustedText.excerpt(name))': shape \(UntrustedText.excerpt(describing: shape)) overflows") }
                bytes = p
            }
            guard let offsets = entry["data_offsets"] as? [Any], offsets.count == 2,
                  let begin = Self.integer(offsets[0]), let end = Self.integer(offsets[1]) else {
                throw SafeTensorsError("tensor '\(UntrustedText.excerpt(name))': data_offsets must be two integers")
            }
            guard begin >= 0, end >= begin else { throw SafeTensorsError("tensor '\(UntrustedText.excerpt(name))': bad data_offsets [\(begin), \(end)]") }
            guard end <= dataSize else {
                throw SafeTensorsError("tensor '\(UntrustedText.excerpt(name))': data_offsets [\(begin), \(end)] run past the data region (\(dataSize) bytes; file truncated?)")
            }
            guard end - begin == bytes else {
                throw SafeTensorsError("tensor '\(UntrustedText.excerpt(name))': shape \(UntrustedText.excerpt(describing: shape)) of \(dtype.rawValue) needs \(bytes) bytes but data_offsets [\(begin), \(end)] hold \(end - begin)")
            }
            tensors[name] = TensorInfo(name: name, dtype: dtype, shape: shape, begin: begin, end: end)
        }
        // In order, no overlaps, no holes, and the whole data region used.
        var position = 0
        for t in tensors.values.sorted(by: { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }) {
            if t.begin < position { throw SafeTensorsError("tensor '\(UntrustedText.excerpt(t.name))': data_offsets [\(t.begin), \(t.end)] overlap another tensor") }
            if t.begin > position { throw SafeTensorsError("tensor '\(UntrustedText.excerpt(t.name))': a hole of \(t.begin - position) bytes before its data") }
            position = t.end
        }
        guard position == dataSize else {
            throw SafeTensorsError("the data region has \(dataSize) bytes but the tensors cover \(position)")
        }
        self.tensors = tensors
        self.metadata = metadata
    }

    /// A JSON integer; booleans (which Foundation also hands back as NSNumber) are not.
    static func integer(_ v: Any) -> Int? {
        if isJSONBool(v) { return nil }
        if let n = v as? Int { return n }
        if let d = v as? Double, d == d.rounded(), abs(d) < 9e15 { return Int(d) }
        return nil
    }

    public func info(_ name: String) -> TensorInfo? { tensors[name] }

    /// The tensor's values converted to Float, row-major.
    public func floats(_ name: String) throws -> [Float] {
        guard let t = tensors[name] else { throw SafeTensorsError("missing tensor '\(UntrustedText.excerpt(name))'") }
        guard t.dtype.isFloat else { throw SafeTensorsError("tensor '\(UntrustedText.excerpt(name))' is \(t.dtype.rawValue), not a float type") }
        let n = t.count
        var out = [Float](repeating: 0, count: n)
        data.withUnsafeBytes { raw in
            let base = raw.baseAddress! + dataStart + t.begin
            out.withUnsafeMutableBufferPointer { dst in
                switch t.dtype {
                case .f32:
                    for i in 0..<n { dst[i] = Float(bitPattern: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian) }
                case .f16:
                    for i in 0..<n { dst[i] = halfToFloat(base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian) }
                case .bf16:
                    for i in 0..<n { dst[i] = Float(bitPattern: UInt32(base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian) << 16) }
                case .i64, .i32, .i16, .i8, .u8, .bool:
                    break   // refused above
                }
            }
        }
        return out
    }
}

/// Whether a JSONSerialization value is `true` or `false` rather than a number.
func isJSONBool(_ v: Any) -> Bool {
    if let n = v as? NSNumber { return String(cString: n.objCType) == "c" }
    return v is Bool
}

/// IEEE half to single precision, subnormals, infinities and NaN included.
@inline(__always) func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exp = Int((h >> 10) & 0x1F)
    let mant = UInt32(h & 0x3FF)
    if exp == 0 {
        if mant == 0 { return Float(bitPattern: sign) }
        let v = Float(mant) * Float(sign: .plus, exponent: -24, significand: 1)
        return sign != 0 ? -v : v
    }
    if exp == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13)) }
    return Float(bitPattern: sign | (UInt32(exp - 15 + 127) << 23) | (mant << 13))
}
