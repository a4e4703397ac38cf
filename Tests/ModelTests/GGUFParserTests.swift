import Foundation
import XCTest
import Model
import TestSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Tests of the hardened GGUF reader (Sources/Model/GGUF): a valid image round-trips, every
// check the reader makes is hit by a crafted image and reports its specific error kind and byte
// offset, and random corruption only ever ends in success or a GGUFError.

// MARK: - Test image builder

fileprivate typealias GT = GGUFBuilder.TypeID

extension GGUFBuilder {
    /// On-disk metadata type ids (gguf_type). `GGUFValue.TypeID` is internal to Model, so the tests
    /// spell the ids out themselves, which also checks the reader against the format, not itself.
    enum TypeID {
        static let u8: UInt32 = 0, i8: UInt32 = 1, u16: UInt32 = 2, i16: UInt32 = 3
        static let u32: UInt32 = 4, i32: UInt32 = 5, f32: UInt32 = 6, bool: UInt32 = 7
        static let string: UInt32 = 8, array: UInt32 = 9, u64: UInt32 = 10, i64: UInt32 = 11
        static let f64: UInt32 = 12
    }

    /// Little-endian byte sink.
    struct Writer {
        var bytes: [UInt8] = []
        var offset: Int { bytes.count }

        mutating func u8(_ v: UInt8) { bytes.append(v) }
        mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        mutating func raw(_ b: [UInt8]) { bytes.append(contentsOf: b) }
        mutating func pad(to alignment: Int) {
            while bytes.count % alignment != 0 { bytes.append(0) }
        }
    }
}

/// Builds GGUF v2/v3 images byte by byte, records where every field landed (`Layout`) so a test
/// can corrupt exactly one of them, and offers raw overrides (counts, n_dims, offsets, type ids,
/// lying lengths) for the corruptions that are easier to express up front.
struct GGUFBuilder {
    /// A metadata value as it is written (the type id goes in the KV; arrays carry their
    /// element type id and write their elements without one).
    indirect enum Value {
        case u8(UInt8), i8(Int8), u16(UInt16), i16(Int16), u32(UInt32), i32(Int32)
        case u64(UInt64), i64(Int64), f32(Float), f64(Double), bool(Bool)
        case string(String)
        /// A string given as raw bytes (need not be UTF-8).
        case bytes([UInt8])
        /// Element type id and elements.
        case array(UInt32, [Value])
        /// An array header with any element type and count, then arbitrary payload bytes.
        case rawArray(elementType: UInt32, count: UInt64, payload: [UInt8])
        /// Any type id, then arbitrary payload bytes (e.g. a bool of 2, an unknown type).
        case raw(type: UInt32, payload: [UInt8])

        static func strings(_ s: [String]) -> Value { .array(GT.string, s.map { .string($0) }) }

        var typeID: UInt32 {
            switch self {
            case .u8: return GT.u8
            case .i8: return GT.i8
            case .u16: return GT.u16
            case .i16: return GT.i16
            case .u32: return GT.u32
            case .i32: return GT.i32
            case .u64: return GT.u64
            case .i64: return GT.i64
            case .f32: return GT.f32
            case .f64: return GT.f64
            case .bool: return GT.bool
            case .string, .bytes: return GT.string
            case .array, .rawArray: return GT.array
            case .raw(let type, _): return type
            }
        }

        /// What the reader should return for this value, when it is well formed.
        var expected: GGUFValue? {
            switch self {
            case .u8(let v): return .uint8(v)
            case .i8(let v): return .int8(v)
            case .u16(let v): return .uint16(v)
            case .i16(let v): return .int16(v)
            case .u32(let v): return .uint32(v)
            case .i32(let v): return .int32(v)
            case .u64(let v): return .uint64(v)
            case .i64(let v): return .int64(v)
            case .f32(let v): return .float32(v)
            case .f64(let v): return .float64(v)
            case .bool(let v): return .bool(v)
            case .string(let s): return .string(s)
            case .bytes(let b): return .string(String(decoding: b, as: UTF8.self))
            case .array(_, let items):
                var out: [GGUFValue] = []
                for item in items {
                    guard let e = item.expected else { return nil }
                    out.append(e)
                }
                return .array(out)
            case .rawArray, .raw: return nil
            }
        }
    }

    struct Tensor {
        var name: [UInt8]
        var dims: [UInt64]
        var type: UInt32
        var data: [UInt8]
        /// Written instead of dims.count (all of `dims` is still written).
        var nDims: UInt32? = nil
        /// Written instead of the correct offset relative to the data section.
        var offset: UInt64? = nil
    }

    struct KVLayout {
        var key = 0         // the key's u64 length field
        var type = 0        // the u32 type id
        var value = 0       // first byte of the value
        var end = 0         // one past the value
        var strings: [Int] = []  // u64 length fields of strings inside the value, in order
        var arrays: [Int] = []   // array headers (u32 element type; count at +4) inside the value
    }

    struct TensorLayout {
        var info = 0        // the name's u64 length field
        var nDims = 0
        var dims: [Int] = []
        var type = 0
        var offsetField = 0
        var relativeOffset = 0  // the correct offset within the data section
        var data = 0            // absolute file offset of the tensor's data
        var byteCount = 0
    }

    struct Layout {
        let version = 4, tensorCount = 8, kvCount = 16
        var kvs: [KVLayout] = []
        var tensors: [TensorLayout] = []
        var dataSection = 0
        var alignment = 32
        /// Every u64 / u32 field written, for the property test's targeted overwrites.
        var u64Fields: [Int] = []
        var u32Fields: [Int] = []
    }

    struct Image {
        var bytes: [UInt8]
        let layout: Layout

        mutating func setU32(at offset: Int, _ v: UInt32) {
            withUnsafeBytes(of: v.littleEndian) { for i in 0..<4 { bytes[offset + i] = $0[i] } }
        }
        mutating func setU64(at offset: Int, _ v: UInt64) {
            withUnsafeBytes(of: v.littleEndian) { for i in 0..<8 { bytes[offset + i] = $0[i] } }
        }
        func prefix(_ n: Int) -> [UInt8] { Array(bytes.prefix(n)) }
        func parse() throws -> GGUFFile { try GGUFFile(bytes: bytes) }
    }

    var magic: [UInt8] = Array("GGUF".utf8)
    var version: UInt32 = 3
    /// Written instead of the real counts.
    var tensorCount: UInt64? = nil
    var kvCount: UInt64? = nil
    /// Padding the writer uses; nil means `general.alignment` when it is a valid u32, else 32.
    var alignment: Int? = nil
    private(set) var kvs: [(key: [UInt8], value: Value)] = []
    var tensors: [Tensor] = []

    init(version: UInt32 = 3) { self.version = version }

    mutating func add(_ key: String, _ value: Value) { kvs.append((Array(key.utf8), value)) }
    mutating func add(rawKey: [UInt8], _ value: Value) { kvs.append((rawKey, value)) }

    /// Adds a tensor; without `data` it gets a byte pattern of exactly the size its type needs.
    mutating func addTensor(_ name: String, _ type: GGMLType, dims: [UInt64], data: [UInt8]? = nil) {
        let bytes = data ?? GGUFBuilder.pattern(GGUFBuilder.byteSize(type, dims), seed: tensors.count)
        tensors.append(Tensor(name: Array(name.utf8), dims: dims, type: type.rawValue, data: bytes))
    }

    /// Adds a tensor with any name bytes / type id / data and optional overrides.
    mutating func addRawTensor(name: [UInt8], dims: [UInt64], type: UInt32, data: [UInt8] = [],
                               nDims: UInt32? = nil, offset: UInt64? = nil) {
        tensors.append(Tensor(name: name, dims: dims, type: type, data: data, nDims: nDims, offset: offset))
    }

    /// (weights per block, bytes per block), written out from the ggml sources rather than
    /// taken from GGMLType so the reader's table is checked too.
    static func block(_ type: GGMLType) -> (weights: Int, bytes: Int) {
        switch type {
        case .f32: return (1, 4)
        case .f16, .bf16: return (1, 2)
        case .q4_0: return (32, 18)
        case .q4_1: return (32, 20)
        case .q8_0: return (32, 34)
        case .q8_1: return (32, 36)
        case .q4_K: return (256, 144)
        case .q6_K: return (256, 210)
        case .q8_K: return (256, 292)
        case .q5_0: return (32, 22)
        case .q5_1: return (32, 24)
        case .q2_K: return (256, 84)
        case .q3_K: return (256, 110)
        case .q5_K: return (256, 176)
        case .iq4_nl: return (32, 18)
        case .iq4_xs: return (256, 136)
        // Types the engine names but has no kernels for: the table's word (checked elsewhere).
        default: return (type.blockSize, type.blockBytes)
        }
    }

    static func byteSize(_ type: GGMLType, _ dims: [UInt64]) -> Int {
        let b = block(type)
        let rows = dims.dropFirst().reduce(1) { $0 * Int($1) }
        return Int(dims[0]) / b.weights * b.bytes * rows
    }

    static func pattern(_ n: Int, seed: Int) -> [UInt8] {
        (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed &* 17 &+ 5) }
    }

    static func padded(_ n: Int, _ a: Int) -> Int { (n + a - 1) / a * a }

    var effectiveAlignment: Int {
        if let alignment { return alignment }
        for kv in kvs where kv.key == Array("general.alignment".utf8) {
            if case .u32(let v) = kv.value, v > 0, v & (v - 1) == 0 { return Int(v) }
        }
        return 32
    }

    private static func write(_ v: Value, _ w: inout Writer, _ L: inout Layout, _ kv: inout KVLayout) {
        switch v {
        case .u8(let x): w.u8(x)
        case .i8(let x): w.u8(UInt8(bitPattern: x))
        case .u16(let x): w.u16(x)
        case .i16(let x): w.u16(UInt16(bitPattern: x))
        case .u32(let x): w.u32(x)
        case .i32(let x): w.u32(UInt32(bitPattern: x))
        case .u64(let x): w.u64(x)
        case .i64(let x): w.u64(UInt64(bitPattern: x))
        case .f32(let x): w.u32(x.bitPattern)
        case .f64(let x): w.u64(x.bitPattern)
        case .bool(let x): w.u8(x ? 1 : 0)
        case .string(let s):
            kv.strings.append(w.offset); L.u64Fields.append(w.offset)
            w.u64(UInt64(s.utf8.count)); w.raw(Array(s.utf8))
        case .bytes(let b):
            kv.strings.append(w.offset); L.u64Fields.append(w.offset)
            w.u64(UInt64(b.count)); w.raw(b)
        case .array(let type, let items):
            kv.arrays.append(w.offset); L.u32Fields.append(w.offset); L.u64Fields.append(w.offset + 4)
            w.u32(type); w.u64(UInt64(items.count))
            for item in items { write(item, &w, &L, &kv) }
        case .rawArray(let type, let count, let payload):
            kv.arrays.append(w.offset); L.u32Fields.append(w.offset); L.u64Fields.append(w.offset + 4)
            w.u32(type); w.u64(count); w.raw(payload)
        case .raw(_, let payload): w.raw(payload)
        }
    }

    func build() -> Image {
        var w = Writer()
        var L = Layout()
        w.raw(magic)
        L.u32Fields.append(w.offset); w.u32(version)
        L.u64Fields.append(w.offset); w.u64(tensorCount ?? UInt64(tensors.count))
        L.u64Fields.append(w.offset); w.u64(kvCount ?? UInt64(kvs.count))
        for (key, value) in kvs {
            var k = KVLayout()
            k.key = w.offset; L.u64Fields.append(w.offset)
            w.u64(UInt64(key.count)); w.raw(key)
            k.type = w.offset; L.u32Fields.append(w.offset)
            w.u32(value.typeID)
            k.value = w.offset
            GGUFBuilder.write(value, &w, &L, &k)
            k.end = w.offset
            L.kvs.append(k)
        }
        let align = effectiveAlignment
        L.alignment = align
        var relative = 0
        for t in tensors {
            var tl = TensorLayout()
            tl.info = w.offset; L.u64Fields.append(w.offset)
            w.u64(UInt64(t.name.count)); w.raw(t.name)
            tl.nDims = w.offset; L.u32Fields.append(w.offset)
            w.u32(t.nDims ?? UInt32(t.dims.count))
            for d in t.dims { tl.dims.append(w.offset); L.u64Fields.append(w.offset); w.u64(d) }
            tl.type = w.offset; L.u32Fields.append(w.offset)
            w.u32(t.type)
            tl.offsetField = w.offset; L.u64Fields.append(w.offset)
            w.u64(t.offset ?? UInt64(relative))
            tl.relativeOffset = relative
            tl.byteCount = t.data.count
            relative += GGUFBuilder.padded(t.data.count, align)
            L.tensors.append(tl)
        }
        w.pad(to: align)
        L.dataSection = w.offset
        for (i, t) in tensors.enumerated() {
            L.tensors[i].data = w.offset
            w.raw(t.data)
            w.pad(to: align)
        }
        return Image(bytes: w.bytes, layout: L)
    }
}

// MARK: - Assertion helpers

fileprivate enum ErrorOffset {
    case at(Int)
    /// The reader gives no offset for this check.
    case none
    /// Not checked.
    case unchecked
}

@discardableResult
fileprivate func expectGGUFError(_ bytes: [UInt8], _ kind: GGUFError.Kind, _ offset: ErrorOffset,
                                 _ note: String = "",
                                 file: StaticString = #filePath, line: UInt = #line) -> GGUFError? {
    do {
        let f = try GGUFFile(bytes: bytes)
        XCTFail("expected \(kind) but the image parsed (\(f.keys.count) keys, \(f.tensors.count) tensors) \(note)",
                file: file, line: line)
        return nil
    } catch let e as GGUFError {
        XCTAssertEqual(e.kind, kind, "\(e) \(note)", file: file, line: line)
        switch offset {
        case .at(let o): XCTAssertEqual(e.offset, o, "\(e) \(note)", file: file, line: line)
        case .none: XCTAssertNil(e.offset, "\(e) \(note)", file: file, line: line)
        case .unchecked: break
        }
        XCTAssertFalse(e.message.isEmpty, file: file, line: line)
        XCTAssertTrue(e.description.contains(e.kind.rawValue), e.description, file: file, line: line)
        if let o = e.offset {
            XCTAssertTrue(e.description.contains("at byte \(o)"), e.description, file: file, line: line)
            XCTAssertTrue(o >= 0 && o <= bytes.count, "offset \(o) outside the \(bytes.count)-byte image", file: file, line: line)
        }
        return e
    } catch {
        XCTFail("expected GGUFError.\(kind), got \(type(of: error)): \(error) \(note)", file: file, line: line)
        return nil
    }
}

/// A builder with one string KV long enough that later truncations do not trip the
/// count-versus-remaining-bytes checks first.
fileprivate func builderWithPadding(_ tensors: Int = 0) -> GGUFBuilder {
    var b = GGUFBuilder()
    b.add("general.name", .string(String(repeating: "x", count: 40 + 40 * tensors)))
    return b
}

fileprivate func temporaryPath(_ name: String) -> String {
    URL(fileURLWithPath: NSTemporaryDirectory())
        .appendingPathComponent("gguf-parser-tests-\(getpid())-\(name)").path
}

// MARK: - Tests

final class GGUFParserTests: XCTestCase {

    // MARK: Round trip

    /// One value of every metadata type, arrays of each, strings, nested and empty arrays.
    static let allValues: [(String, GGUFBuilder.Value)] = [
        ("t.u8", .u8(200)),
        ("t.i8", .i8(-100)),
        ("t.u16", .u16(60_000)),
        ("t.i16", .i16(-30_000)),
        ("t.u32", .u32(4_000_000_000)),
        ("t.i32", .i32(-2_000_000_000)),
        ("t.u64", .u64(UInt64.max)),
        ("t.i64", .i64(Int64.min)),
        ("t.f32", .f32(-3.25)),
        ("t.f32.inf", .f32(.infinity)),
        ("t.f64", .f64(Double.pi)),
        ("t.bool.true", .bool(true)),
        ("t.bool.false", .bool(false)),
        ("t.string", .string("héllo wörld ✓ 北京 😀")),
        ("t.string.empty", .string("")),
        ("", .string("an empty key is allowed")),
        ("t.array.u8", .array(GT.u8, [.u8(0), .u8(1), .u8(255)])),
        ("t.array.i8", .array(GT.i8, [.i8(-128), .i8(127)])),
        ("t.array.u16", .array(GT.u16, [.u16(1), .u16(65535)])),
        ("t.array.i16", .array(GT.i16, [.i16(-32768), .i16(32767)])),
        ("t.array.u32", .array(GT.u32, [.u32(7), .u32(8), .u32(9)])),
        ("t.array.i32", .array(GT.i32, [.i32(-1), .i32(Int32.max)])),
        ("t.array.u64", .array(GT.u64, [.u64(0), .u64(UInt64.max)])),
        ("t.array.i64", .array(GT.i64, [.i64(Int64.min), .i64(42)])),
        ("t.array.f32", .array(GT.f32, [.f32(0.5), .f32(-1e30)])),
        ("t.array.f64", .array(GT.f64, [.f64(1e-300), .f64(-2.5)])),
        ("t.array.bool", .array(GT.bool, [.bool(true), .bool(false), .bool(true)])),
        ("t.array.string", .strings(["alpha", "", "γάμμα", "<|im_start|>"])),
        ("t.array.empty", .array(GT.u64, [])),
        ("t.array.nested", .array(GT.array, [
            .array(GT.u32, [.u32(1), .u32(2)]),
            .array(GT.u32, []),
            .array(GT.u32, [.u32(3)]),
        ])),
        ("t.array.nested.strings", .array(GT.array, [.strings(["a", "b"]), .strings(["c"])])),
    ]

    /// Tensors of several types, sized with the real block sizes.
    static func addRoundTripTensors(_ b: inout GGUFBuilder) {
        let f32: [Float] = [1, -2, 0.5, 3.75, -0.125, 1e-3, 65504, -7]
        b.addTensor("f32.weight", .f32, dims: [4, 2], data: f32.flatMap { v in
            withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) }
        })
        let f16: [UInt16] = [0x3C00, 0xC000, 0x3800, 0x0000, 0x7BFF, 0x8001, 0x4200, 0xBC00]
        b.addTensor("f16.weight", .f16, dims: [8], data: f16.flatMap { v in
            withUnsafeBytes(of: v.littleEndian) { Array($0) }
        })
        b.addTensor("blk.0.q4_1", .q4_1, dims: [64, 2])
        b.addTensor("blk.0.q8_0", .q8_0, dims: [32, 3])
        b.addTensor("blk.0.q4_K", .q4_K, dims: [256, 1])
        b.addTensor("blk.0.q6_K", .q6_K, dims: [256, 2, 1, 1])
    }

    static func roundTripBuilder(version: UInt32 = 3) -> GGUFBuilder {
        var b = GGUFBuilder(version: version)
        b.add("general.architecture", .string("llama"))
        for (k, v) in allValues { b.add(k, v) }
        addRoundTripTensors(&b)
        return b
    }

    func checkRoundTrip(_ b: GGUFBuilder, _ image: GGUFBuilder.Image, _ f: GGUFFile,
                        file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(f.version, b.version, file: file, line: line)
        XCTAssertEqual(f.fileSize, image.bytes.count, file: file, line: line)
        XCTAssertEqual(f.alignment, image.layout.alignment, file: file, line: line)
        XCTAssertEqual(f.keys, b.kvs.map { String(decoding: $0.key, as: UTF8.self) }, file: file, line: line)
        XCTAssertEqual(f.metadata.count, b.kvs.count, file: file, line: line)
        for (key, value) in b.kvs {
            let k = String(decoding: key, as: UTF8.self)
            XCTAssertEqual(f.metadata[k], value.expected, "key \(k)", file: file, line: line)
        }
        XCTAssertEqual(f.dataOffset, image.layout.dataSection, file: file, line: line)
        XCTAssertEqual(f.dataOffset % f.alignment, 0, file: file, line: line)
        XCTAssertEqual(f.tensors.count, b.tensors.count, file: file, line: line)
        for (i, t) in b.tensors.enumerated() where i < f.tensors.count {
            let info = f.tensors[i]
            let tl = image.layout.tensors[i]
            XCTAssertEqual(info.name, String(decoding: t.name, as: UTF8.self), file: file, line: line)
            XCTAssertEqual(info.dims, t.dims.map { Int($0) }, file: file, line: line)
            XCTAssertEqual(info.type.rawValue, t.type, file: file, line: line)
            XCTAssertEqual(info.elementCount, t.dims.reduce(1) { $0 * Int($1) }, file: file, line: line)
            XCTAssertEqual(info.byteCount, t.data.count, "\(info.name)", file: file, line: line)
            XCTAssertEqual(info.fileOffset, tl.data, "\(info.name)", file: file, line: line)
            XCTAssertEqual(info.fileOffset, f.dataOffset + tl.relativeOffset, file: file, line: line)
            XCTAssertEqual(info.fileOffset % f.alignment, 0, "\(info.name)", file: file, line: line)
            XCTAssertEqual(f.tensorsByName[info.name], i, file: file, line: line)
            XCTAssertEqual(f.tensor(info.name)?.fileOffset, info.fileOffset, file: file, line: line)
            let p = f.data(of: info)
            let got = Array(UnsafeRawBufferPointer(start: p, count: info.byteCount))
            XCTAssertEqual(got, t.data, "data of \(info.name)", file: file, line: line)
        }
        XCTAssertNil(f.tensor("no.such.tensor"), file: file, line: line)
    }

    func testBuilderWritesTheSpecLayout() throws {
        // A hand-assembled image: one u32 KV, one 2-element F32 tensor, alignment 32.
        var b = GGUFBuilder()
        b.add("a", .u32(0x0102_0304))
        b.addTensor("w", .f32, dims: [2], data: [1, 2, 3, 4, 5, 6, 7, 8])
        var expected: [UInt8] = Array("GGUF".utf8) + [3, 0, 0, 0]
        expected += [1, 0, 0, 0, 0, 0, 0, 0]          // tensor count
        expected += [1, 0, 0, 0, 0, 0, 0, 0]          // kv count
        expected += [1, 0, 0, 0, 0, 0, 0, 0, 0x61]    // key "a"
        expected += [4, 0, 0, 0]                      // uint32
        expected += [4, 3, 2, 1]
        expected += [1, 0, 0, 0, 0, 0, 0, 0, 0x77]    // name "w"
        expected += [1, 0, 0, 0]                      // n_dims
        expected += [2, 0, 0, 0, 0, 0, 0, 0]          // dims[0]
        expected += [0, 0, 0, 0]                      // F32
        expected += [0, 0, 0, 0, 0, 0, 0, 0]          // offset
        XCTAssertEqual(expected.count, 74)
        expected += [UInt8](repeating: 0, count: 96 - 74)
        expected += [1, 2, 3, 4, 5, 6, 7, 8] + [UInt8](repeating: 0, count: 24)
        let image = b.build()
        XCTAssertEqual(image.bytes, expected)
        XCTAssertEqual(image.layout.kvs[0].key, 24)
        XCTAssertEqual(image.layout.kvs[0].type, 33)
        XCTAssertEqual(image.layout.kvs[0].value, 37)
        XCTAssertEqual(image.layout.tensors[0].info, 41)
        XCTAssertEqual(image.layout.tensors[0].offsetField, 66)
        XCTAssertEqual(image.layout.dataSection, 96)
        let f = try image.parse()
        XCTAssertEqual(f.metadata["a"], .uint32(0x0102_0304))
        XCTAssertEqual(f.tensors.first?.fileOffset, 96)
        XCTAssertEqual(f.tensors.first?.byteCount, 8)
    }

    func testRoundTripEveryValueTypeAndTensorType() throws {
        let b = GGUFParserTests.roundTripBuilder()
        let image = b.build()
        let f = try image.parse()
        checkRoundTrip(b, image, f)

        // Block sizes spelled out: Q4_1 20 B / 32 weights, Q8_0 34 B / 32, Q4_K 144 B / 256,
        // Q6_K 210 B / 256; data packed in order, each tensor padded to 32 bytes.
        XCTAssertEqual(f.tensors.map(\.type), [.f32, .f16, .q4_1, .q8_0, .q4_K, .q6_K])
        XCTAssertEqual(f.tensors.map(\.byteCount), [32, 16, 2 * 2 * 20, 3 * 34, 144, 2 * 210])
        XCTAssertEqual(f.tensors.map { $0.fileOffset - f.dataOffset }, [0, 32, 64, 160, 288, 448])
        XCTAssertEqual(f.tensors.last.map { $0.fileOffset + $0.byteCount }, f.dataOffset + 868)
        XCTAssertEqual(f.tensors.map(\.elementCount), [8, 8, 128, 96, 256, 512])
        for t in f.tensors {
            let b = GGUFBuilder.block(t.type)
            XCTAssertEqual(t.type.blockSize, b.weights, "\(t.type)")
            XCTAssertEqual(t.type.blockBytes, b.bytes, "\(t.type)")
        }

        // Values decode to the numbers written.
        let f32 = try XCTUnwrap(f.tensor("f32.weight"))
        let floats = (0..<8).map { f.data(of: f32).loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
        XCTAssertEqual(floats, [1, -2, 0.5, 3.75, -0.125, 1e-3, 65504, -7])
        let f16 = try XCTUnwrap(f.tensor("f16.weight"))
        XCTAssertEqual(f.data(of: f16).loadUnaligned(fromByteOffset: 2, as: UInt16.self), 0xC000)

        // Typed accessors.
        XCTAssertEqual(try f.string("general.architecture"), "llama")
        XCTAssertEqual(try f.int("t.u32"), 4_000_000_000)
        XCTAssertEqual(try f.int("t.i64"), Int(Int64.min))
        XCTAssertEqual(try f.float("t.f64"), Double.pi)
        XCTAssertEqual(try f.float("t.i16"), -30_000)
        XCTAssertEqual(f.metadata["t.bool.true"]?.bool, true)
        XCTAssertEqual(f.metadata["t.array.string"]?.array?.count, 4)
        XCTAssertNil(f.metadata["t.u64"]?.int, "u64 max does not fit Int")
        for (call, kind) in [({ _ = try f.int("missing") }, GGUFError.Kind.missingKey),
                             ({ _ = try f.int("t.string") }, .wrongKeyType),
                             ({ _ = try f.float("t.array.u8") }, .wrongKeyType),
                             ({ _ = try f.string("t.u8") }, .wrongKeyType),
                             ({ _ = try f.string("nope") }, .missingKey)] as [(() throws -> Void, GGUFError.Kind)] {
            XCTAssertThrowsError(try call()) { XCTAssertEqual(($0 as? GGUFError)?.kind, kind) }
        }
    }

    func testVersion2IsAccepted() throws {
        let b = GGUFParserTests.roundTripBuilder(version: 2)
        let image = b.build()
        let f = try image.parse()
        XCTAssertEqual(f.version, 2)
        checkRoundTrip(b, image, f)
    }

    func testCustomAlignmentIsHonoured() throws {
        for a: UInt32 in [1, 8, 64, 256] {
            var b = GGUFBuilder()
            b.add("general.alignment", .u32(a))
            GGUFParserTests.addRoundTripTensors(&b)
            let image = b.build()
            XCTAssertEqual(image.layout.alignment, Int(a))
            let f = try image.parse()
            XCTAssertEqual(f.alignment, Int(a))
            checkRoundTrip(b, image, f)
            for t in f.tensors { XCTAssertEqual(t.fileOffset % Int(a), 0) }
        }
        // With alignment 64 the 20-byte-per-block tensors are padded to 64, not 32.
        var b = GGUFBuilder()
        b.add("general.alignment", .u32(64))
        b.addTensor("a", .q4_1, dims: [32])
        b.addTensor("b", .q8_0, dims: [32])
        b.addTensor("c", .f32, dims: [1])
        let f = try b.build().parse()
        XCTAssertEqual(f.dataOffset % 64, 0)
        XCTAssertEqual(f.tensors.map { $0.fileOffset - f.dataOffset }, [0, 64, 128])
        // The same file written with 32-byte padding is rejected: offsets must follow the alignment.
        var wrong = b
        wrong.alignment = 32
        expectGGUFError(wrong.build().bytes, .badTensorOffset, .at(wrong.build().layout.tensors[1].offsetField))
    }

    func testHeaderOnlyFileIsValid() throws {
        // The builder pads even an empty data section; the bare 24-byte header is valid too.
        let f = try GGUFFile(bytes: GGUFBuilder().build().prefix(24))
        XCTAssertEqual(f.fileSize, 24)
        XCTAssertTrue(f.keys.isEmpty)
        XCTAssertTrue(f.tensors.isEmpty)
        XCTAssertEqual(f.alignment, 32)
    }

    func testZeroElementTensorsAndTrailingPaddingOptional() throws {
        // A dimension of 0 is legal (0 bytes); the last tensor's trailing padding may be missing.
        var b = GGUFBuilder()
        b.addTensor("empty", .q4_1, dims: [0, 7])
        b.addTensor("w", .q4_1, dims: [32])
        let image = b.build()
        let f = try image.parse()
        XCTAssertEqual(f.tensors.map(\.byteCount), [0, 20])
        XCTAssertEqual(f.tensors[1].fileOffset, f.dataOffset)
        let end = image.layout.tensors[1].data + 20
        XCTAssertNoThrow(try GGUFFile(bytes: image.prefix(end)))
        expectGGUFError(image.prefix(end - 1), .tensorOutsideFile, .at(image.layout.tensors[1].info))
    }

    func testInvalidUTF8InStringsIsReplacedOrRejected() throws {
        // The reader currently replaces invalid UTF-8 with U+FFFD; GGUFError.Kind has an
        // .invalidUTF8 case it does not throw yet. Either is safe: never raw, unchecked bytes.
        let bad: [UInt8] = [0x61, 0xFF, 0x62, 0xC3]
        func check(_ image: GGUFBuilder.Image, stringAt: Int, _ verify: (GGUFFile) -> Void) {
            do {
                verify(try image.parse())
            } catch let e as GGUFError {
                XCTAssertEqual(e.kind, .invalidUTF8, "\(e)")
                XCTAssertEqual(e.offset, stringAt, "\(e)")
            } catch { XCTFail("\(error)") }
        }
        var value = GGUFBuilder()
        value.add("bad", .bytes(bad))
        var image = value.build()
        check(image, stringAt: image.layout.kvs[0].value) {
            XCTAssertEqual($0.metadata["bad"], .string("a\u{FFFD}b\u{FFFD}"))
        }
        var key = GGUFBuilder()
        key.add(rawKey: bad, .u8(1))
        image = key.build()
        check(image, stringAt: image.layout.kvs[0].key) {
            XCTAssertEqual($0.keys, ["a\u{FFFD}b\u{FFFD}"])
        }
        var name = GGUFBuilder()
        name.addRawTensor(name: bad, dims: [1], type: 0, data: [0, 0, 0, 0])
        image = name.build()
        check(image, stringAt: image.layout.tensors[0].info) {
            XCTAssertEqual($0.tensors.first?.name, "a\u{FFFD}b\u{FFFD}")
        }
    }

    func testParsesFromPathViaMmap() throws {
        let b = GGUFParserTests.roundTripBuilder()
        let image = b.build()
        let path = temporaryPath("roundtrip.gguf")
        defer { unlink(path) }
        try Data(image.bytes).write(to: URL(fileURLWithPath: path))
        let f = try GGUFFile(path: path)
        XCTAssertEqual(f.path, path)
        checkRoundTrip(b, image, f)

        // Errors from the mapped path are the same as from memory.
        let bad = image.prefix(image.bytes.count - 500)
        try Data(bad).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try GGUFFile(path: path)) { error in
            XCTAssertEqual((error as? GGUFError)?.kind, .tensorOutsideFile)
        }
    }

    // MARK: File-level checks

    func testEmptyFile() throws {
        expectGGUFError([], .truncated, .at(0))
        let path = temporaryPath("empty.gguf")
        defer { unlink(path) }
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data()))
        XCTAssertThrowsError(try GGUFFile(path: path)) { error in
            let e = error as? GGUFError
            XCTAssertEqual(e?.kind, .truncated)
            XCTAssertEqual(e?.offset, 0)
        }
    }

    func testMissingFileCannotOpen() {
        XCTAssertThrowsError(try GGUFFile(path: temporaryPath("does-not-exist.gguf"))) { error in
            let e = error as? GGUFError
            XCTAssertEqual(e?.kind, .cannotOpen)
            XCTAssertNil(e?.offset)
        }
    }

    func testTruncatedHeader() {
        let header = GGUFBuilder().build().prefix(24)
        for n in 0..<24 {
            let at = n < 4 ? 0 : n < 8 ? 4 : n < 16 ? 8 : 16
            expectGGUFError(Array(header.prefix(n)), .truncated, .at(at), "prefix \(n)")
        }
    }

    func testBadMagic() {
        for magic in ["GGUX", "GGML", "FUGG", "ggjt", "\0\0\0\0"] {
            var b = GGUFBuilder()
            b.magic = Array(magic.utf8)
            expectGGUFError(b.build().bytes, .badMagic, .at(0), magic)
        }
        // Short file with the wrong magic: the magic is read first, then judged.
        expectGGUFError(Array("GGUx".utf8), .badMagic, .at(0))
    }

    func testUnsupportedVersion() {
        for v: UInt32 in [0, 1, 4, 0x0300_0000, UInt32.max] {
            var b = GGUFParserTests.roundTripBuilder()
            b.version = v
            expectGGUFError(b.build().bytes, .unsupportedVersion, .at(4), "version \(v)")
        }
    }

    // MARK: Counts

    func testKVCountThatCannotFit() {
        for count: UInt64 in [UInt64.max, UInt64(Int64.max) + 1, 1 << 32] {
            var b = GGUFParserTests.roundTripBuilder()
            b.kvCount = count
            expectGGUFError(b.build().bytes, .tooManyItems, .at(16), "kv count \(count)")
        }
        // Exactly one more than the 13-byte-minimum bound allows.
        var b = builderWithPadding()
        let remaining = b.build().bytes.count - 24
        b.kvCount = UInt64(remaining / 13 + 1)
        expectGGUFError(b.build().bytes, .tooManyItems, .at(16))
        // Within the bound but more than present: the reader runs off the end.
        b.kvCount = 2
        expectGGUFError(b.build().bytes, .truncated, .at(b.build().bytes.count))
    }

    func testTensorCountThatCannotFit() {
        for count: UInt64 in [UInt64.max, 1 << 63, 1 << 40] {
            var b = GGUFParserTests.roundTripBuilder()
            b.tensorCount = count
            expectGGUFError(b.build().bytes, .tooManyItems, .at(8), "tensor count \(count)")
        }
        var b = GGUFBuilder()
        b.addTensor("w", .f32, dims: [1])
        let remaining = b.build().bytes.count - 24
        b.tensorCount = UInt64(remaining / 32 + 1)
        expectGGUFError(b.build().bytes, .tooManyItems, .at(8))
    }

    // MARK: KV checks

    func testTruncatedInsideKV() {
        var b = builderWithPadding()
        b.add("second.key", .u64(0x1122_3344_5566_7788))
        let image = b.build()
        let kv = image.layout.kvs[1]
        // Inside the key's length field.
        expectGGUFError(image.prefix(kv.key + 3), .truncated, .at(kv.key))
        // Inside the key's bytes: the length is checked against what is left.
        expectGGUFError(image.prefix(kv.key + 8 + 4), .stringTooLong, .at(kv.key))
        // Inside the type id.
        expectGGUFError(image.prefix(kv.type + 2), .truncated, .at(kv.type))
        // Right after the type id, and inside the u64 value.
        expectGGUFError(image.prefix(kv.value), .truncated, .at(kv.value))
        expectGGUFError(image.prefix(kv.value + 5), .truncated, .at(kv.value))
        XCTAssertNoThrow(try GGUFFile(bytes: image.bytes))
    }

    func testTruncatedInsideString() {
        var b = builderWithPadding()
        b.add("general.description", .string("a string that is cut short"))
        let image = b.build()
        let kv = image.layout.kvs[1]
        expectGGUFError(image.prefix(kv.value + 7), .truncated, .at(kv.value))
        expectGGUFError(image.prefix(kv.value + 8), .stringTooLong, .at(kv.value))
        expectGGUFError(image.prefix(kv.end - 1), .stringTooLong, .at(kv.value))
        XCTAssertNoThrow(try GGUFFile(bytes: image.bytes))
    }

    func testTruncatedInsideArray() {
        var b = builderWithPadding()
        b.add("tokens", .strings(["alpha", "beta", "gamma"]))
        b.add("scores", .array(GT.f32, (0..<10).map { .f32(Float($0)) }))
        let image = b.build()
        let tokens = image.layout.kvs[1]
        let scores = image.layout.kvs[2]
        XCTAssertEqual(tokens.strings.count, 3)
        // Inside the element type, inside the count.
        expectGGUFError(image.prefix(tokens.value + 2), .truncated, .at(tokens.value))
        expectGGUFError(image.prefix(tokens.value + 4 + 5), .truncated, .at(tokens.value + 4))
        // Inside the third string's length field, then inside its bytes.
        expectGGUFError(image.prefix(tokens.strings[2] + 4), .truncated, .at(tokens.strings[2]))
        expectGGUFError(image.prefix(tokens.strings[2] + 10), .stringTooLong, .at(tokens.strings[2]))
        // Fixed-size elements cut short: the count no longer fits in what is left.
        expectGGUFError(image.prefix(scores.value + 12 + 4 * 5), .tooManyItems, .at(scores.value + 4))
        expectGGUFError(image.prefix(scores.end - 1), .tooManyItems, .at(scores.value + 4))
        XCTAssertNoThrow(try GGUFFile(bytes: image.bytes))
    }

    func testHugeStringLength() {
        // Key length u64 max.
        var b = builderWithPadding()
        var image = b.build()
        image.setU64(at: image.layout.kvs[0].key, UInt64.max)
        expectGGUFError(image.bytes, .stringTooLong, .at(24))
        // Value length u64 max, 2^63, and one more than is left.
        b.add("s", .string("short"))
        for (i, length) in ([UInt64.max, 1 << 63, (1 << 28) + 1] as [UInt64]).enumerated() {
            var image = b.build()
            image.setU64(at: image.layout.kvs[1].value, length)
            expectGGUFError(image.bytes, .stringTooLong, .at(image.layout.kvs[1].value), "case \(i)")
        }
        image = b.build()
        let at = image.layout.kvs[1].value
        image.setU64(at: at, UInt64(image.bytes.count - at - 8 + 1))
        expectGGUFError(image.bytes, .stringTooLong, .at(at))
        // Exactly what is left is fine (it swallows the rest of the file).
        image.setU64(at: at, UInt64(image.bytes.count - at - 8))
        XCTAssertEqual(try GGUFFile(bytes: image.bytes).metadata["s"]?.string?.utf8.count, image.bytes.count - at - 8)
        // A tensor name that claims more than is left.
        var t = builderWithPadding(1)
        t.addTensor("w", .f32, dims: [1])
        var timage = t.build()
        timage.setU64(at: timage.layout.tensors[0].info, UInt64.max)
        expectGGUFError(timage.bytes, .stringTooLong, .at(timage.layout.tensors[0].info))
    }

    /// Arrays that fit in the file but hold more elements in all than any real vocabulary are
    /// refused before they are materialised (each element costs far more in memory than on disk).
    func testTotalMetadataElementsAreCapped() {
        var b = GGUFBuilder()
        let n = 16_000_001
        b.add("big", .rawArray(elementType: GT.u8, count: UInt64(n), payload: [UInt8](repeating: 0, count: n)))
        let image = b.build()
        let at = image.layout.kvs[0].value + 4
        expectGGUFError(image.bytes, .tooManyItems, .at(at), "16M+1 u8 elements")
    }

    func testHugeArrayCount() {
        var b = builderWithPadding()
        b.add("arr", .array(GT.u32, [.u32(1), .u32(2)]))
        b.add("strs", .strings(["x"]))
        b.add("nest", .array(GT.array, [.array(GT.u8, [.u8(1)])]))
        let clean = b.build()
        for kvIndex in 1...3 {
            let at = clean.layout.kvs[kvIndex].value + 4
            for count: UInt64 in [UInt64.max, 1 << 63, UInt64(Int64.max), 1 << 32, UInt64(clean.bytes.count)] {
                var image = clean
                image.setU64(at: at, count)
                expectGGUFError(image.bytes, .tooManyItems, .at(at), "kv \(kvIndex) count \(count)")
            }
        }
        // One more u32 than the bytes left can hold.
        var image = clean
        let at = clean.layout.kvs[1].value + 4
        image.setU64(at: at, UInt64((clean.bytes.count - at - 8) / 4 + 1))
        expectGGUFError(image.bytes, .tooManyItems, .at(at))
        // A nested array's count is bounded too.
        image = clean
        let inner = clean.layout.kvs[3].arrays[1] + 4
        image.setU64(at: inner, UInt64.max)
        expectGGUFError(image.bytes, .tooManyItems, .at(inner))
    }

    func testDuplicateKey() {
        var b = GGUFBuilder()
        b.add("general.architecture", .string("llama"))
        b.add("llama.block_count", .u32(30))
        b.add("general.architecture", .u32(1))
        let image = b.build()
        expectGGUFError(image.bytes, .duplicateKey, .at(image.layout.kvs[2].key))
    }

    func testUnknownValueType() {
        for type: UInt32 in [13, 99, 0x8000_0000, UInt32.max] {
            var b = builderWithPadding()
            b.add("weird", .raw(type: type, payload: [0, 0, 0, 0, 0, 0, 0, 0]))
            let image = b.build()
            expectGGUFError(image.bytes, .unknownValueType, .at(image.layout.kvs[1].type), "type \(type)")
        }
    }

    func testUnknownArrayElementType() {
        for type: UInt32 in [13, 255, UInt32.max] {
            var b = builderWithPadding()
            b.add("weird", .rawArray(elementType: type, count: 1, payload: [1, 0, 0, 0, 0, 0, 0, 0]))
            let image = b.build()
            expectGGUFError(image.bytes, .unknownValueType, .at(image.layout.kvs[1].value), "type \(type)")
        }
        // Also inside a nested array.
        var b = builderWithPadding()
        b.add("weird", .array(GT.array, [.rawArray(elementType: 77, count: 0, payload: [])]))
        let image = b.build()
        expectGGUFError(image.bytes, .unknownValueType, .at(image.layout.kvs[1].arrays[1]))
    }

    func testNestedArraysDeeperThanLimit() throws {
        func nest(_ levels: Int) -> GGUFBuilder.Value {
            var v: GGUFBuilder.Value = .array(GT.u8, [.u8(7)])
            for _ in 1..<levels { v = .array(GT.array, [v]) }
            return v
        }
        // Four levels of arrays are read.
        var ok = GGUFBuilder()
        ok.add("deep", nest(4))
        let f = try ok.build().parse()
        XCTAssertEqual(f.metadata["deep"], .array([.array([.array([.array([.uint8(7)])])])]))
        // A fifth is refused where its header starts (four 12-byte array headers in).
        for levels in [5, 6, 40] {
            var b = builderWithPadding()
            b.add("deep", nest(levels))
            let image = b.build()
            expectGGUFError(image.bytes, .nestedArrayTooDeep, .at(image.layout.kvs[1].value + 48), "\(levels) levels")
        }
    }

    func testBoolOtherThanZeroOrOne() {
        for byte: UInt8 in [2, 0x80, 0xFF] {
            var b = builderWithPadding()
            b.add("flag", .raw(type: GT.bool, payload: [byte]))
            let image = b.build()
            // The reader reports this as .wrongKeyType.
            expectGGUFError(image.bytes, .wrongKeyType, .at(image.layout.kvs[1].value), "byte \(byte)")
        }
        var b = builderWithPadding()
        b.add("flags", .rawArray(elementType: GT.bool, count: 3, payload: [1, 0, 2]))
        let image = b.build()
        expectGGUFError(image.bytes, .wrongKeyType, .at(image.layout.kvs[1].value + 12 + 2))
    }

    // MARK: Alignment

    func testNonPowerOfTwoAlignment() {
        for a: UInt32 in [0, 3, 12, 48, 100, UInt32.max] {
            var b = GGUFBuilder()
            b.add("general.alignment", .u32(a))
            b.alignment = 32
            b.addTensor("w", .f32, dims: [4])
            let image = b.build()
            expectGGUFError(image.bytes, .badAlignment, .at(image.layout.kvs[0].value), "alignment \(a)")
        }
    }

    func testAlignmentOfWrongType() {
        let values: [GGUFBuilder.Value] = [.u64(32), .i32(32), .u16(32), .u8(32), .f32(32), .string("32"),
                                           .array(GT.u32, [.u32(32)]), .bool(true)]
        for v in values {
            var b = GGUFBuilder()
            b.add("general.alignment", v)
            b.addTensor("w", .f32, dims: [4])
            let image = b.build()
            expectGGUFError(image.bytes, .badAlignment, .at(image.layout.kvs[0].value), "\(v)")
        }
    }

    // MARK: Tensor info checks

    func testTruncatedInsideTensorInfo() {
        var b = builderWithPadding(2)
        b.addTensor("blk.0.attn_q.weight", .q8_0, dims: [32, 2])
        b.addTensor("blk.0.attn_k.weight", .q8_0, dims: [32, 2])
        let image = b.build()
        let t = image.layout.tensors[1]
        expectGGUFError(image.prefix(t.info + 5), .truncated, .at(t.info))
        expectGGUFError(image.prefix(t.info + 8 + 3), .stringTooLong, .at(t.info))
        expectGGUFError(image.prefix(t.nDims + 1), .truncated, .at(t.nDims))
        expectGGUFError(image.prefix(t.dims[0] + 7), .truncated, .at(t.dims[0]))
        expectGGUFError(image.prefix(t.dims[1]), .truncated, .at(t.dims[1]))
        expectGGUFError(image.prefix(t.type + 3), .truncated, .at(t.type))
        expectGGUFError(image.prefix(t.offsetField + 4), .truncated, .at(t.offsetField))
        XCTAssertNoThrow(try GGUFFile(bytes: image.bytes))
    }

    func testEmptyTensorName() {
        var b = GGUFBuilder()
        b.addTensor("ok", .f32, dims: [1])
        b.addRawTensor(name: [], dims: [1], type: 0, data: [0, 0, 0, 0])
        let image = b.build()
        expectGGUFError(image.bytes, .badTensorName, .at(image.layout.tensors[1].info))
    }

    func testTooLongTensorName() throws {
        // GGML_MAX_NAME is 64 including the terminator: 63 bytes is the longest name.
        var ok = GGUFBuilder()
        ok.addTensor(String(repeating: "n", count: 63), .f32, dims: [1])
        XCTAssertEqual(try ok.build().parse().tensors.first?.name.utf8.count, 63)
        for length in [64, 65, 1000] {
            var b = GGUFBuilder()
            b.addTensor(String(repeating: "n", count: length), .f32, dims: [1])
            let image = b.build()
            expectGGUFError(image.bytes, .badTensorName, .at(image.layout.tensors[0].info), "length \(length)")
        }
    }

    func testDuplicateTensorName() {
        var b = GGUFBuilder()
        b.addTensor("a", .f32, dims: [2])
        b.addTensor("b", .f32, dims: [2])
        b.addTensor("a", .f32, dims: [2])
        let image = b.build()
        expectGGUFError(image.bytes, .duplicateTensor, .at(image.layout.tensors[2].info))
    }

    func testDimensionCountZeroAndFive() throws {
        for n: UInt32 in [0, 5, 8, UInt32.max] {
            var b = GGUFBuilder()
            b.addRawTensor(name: Array("w".utf8), dims: [1, 1, 1, 1, 1], type: 0, data: [0, 0, 0, 0], nDims: n)
            let image = b.build()
            expectGGUFError(image.bytes, .tooManyDimensions, .at(image.layout.tensors[0].nDims), "n_dims \(n)")
        }
        // Five real dims (all written): refused at n_dims.
        var five = GGUFBuilder()
        five.addRawTensor(name: Array("w".utf8), dims: [1, 1, 1, 1, 1], type: 0, data: [0, 0, 0, 0])
        let image = five.build()
        expectGGUFError(image.bytes, .tooManyDimensions, .at(image.layout.tensors[0].nDims))
        // Four is the maximum accepted.
        var four = GGUFBuilder()
        four.addTensor("w", .f32, dims: [2, 1, 3, 1])
        XCTAssertEqual(try four.build().parse().tensors.first?.dims, [2, 1, 3, 1])
    }

    func testDimensionAtLeast2To63() {
        for (d, value) in [(0, UInt64(1) << 63), (1, UInt64.max), (2, (UInt64(1) << 63) + 1)] {
            var dims: [UInt64] = [32, 1, 1]
            dims[d] = value
            var b = GGUFBuilder()
            b.addRawTensor(name: Array("w".utf8), dims: dims, type: GGMLType.f32.rawValue)
            let image = b.build()
            expectGGUFError(image.bytes, .badDimension, .at(image.layout.tensors[0].dims[d]), "dim \(d) = \(value)")
        }
    }

    func testDimensionProductOverflow() {
        let cases: [([UInt64], Int)] = [
            ([1 << 32, 1 << 32], 1),             // 2^64 overflows Int
            ([1 << 62], 0),                      // a single dim above Int64.max / 8
            ([UInt64(Int64.max)], 0),
            ([1 << 20, 1 << 20, 1 << 19, 1 << 25], 3),  // 2^84 on the last dim
            ([3, 1 << 61], 1),                  // past Int64.max / 8 without overflowing Int
        ]
        for (dims, bad) in cases {
            var b = GGUFBuilder()
            b.addRawTensor(name: Array("w".utf8), dims: dims, type: GGMLType.f32.rawValue)
            let image = b.build()
            expectGGUFError(image.bytes, .dimensionOverflow, .at(image.layout.tensors[0].dims[bad]), "\(dims)")
        }
    }

    func testDataSectionSizeOverflowIsCaught() {
        // Each tensor's element count passes the per-tensor check (<= Int64.max / 8) and its byte
        // size fits, but the running padded offset of the data section does not: it must be
        // refused, not wrap (or trap later when the data range is computed).
        let columns: UInt64 = UInt64(Int64.max) / 8 / 4 * 4   // 2^60 - 4 F32 weights
        let padded: UInt64 = (columns * 4 + 31) / 32 * 32      // 2^62 bytes
        XCTAssertEqual(padded, 1 << 62)
        var b = GGUFBuilder()
        for name in ["a", "b", "c"] {
            b.addRawTensor(name: Array(name.utf8), dims: [columns], type: GGMLType.f32.rawValue)
        }
        // Write the offsets the reader expects (the builder has no data to size them from).
        b.tensors[1].offset = padded
        b.tensors[2].offset = 2 * padded
        let image = b.build()
        // a spans [0, 2^62), b [2^62, 2^63): b's end passes Int.max.
        expectGGUFError(image.bytes, .dimensionOverflow, .at(image.layout.tensors[1].offsetField))
    }

    func testUnknownTensorType() {
        // 4, 5 (removed Q4_2/Q4_3), 31 and 36 (removed), 43 and 99 (never defined), u32 max.
        for type: UInt32 in [4, 5, 31, 36, 43, 99, UInt32.max] {
            var b = GGUFBuilder()
            b.addRawTensor(name: Array("w".utf8), dims: [256], type: type, data: [UInt8](repeating: 0, count: 1024))
            let image = b.build()
            expectGGUFError(image.bytes, .unknownTensorType, .at(image.layout.tensors[0].type), "type \(type)")
        }
    }

    func testRowNotAMultipleOfTheBlockSize() {
        let cases: [(GGMLType, UInt64)] = [(.q4_1, 33), (.q4_1, 16), (.q8_0, 31), (.q4_K, 32), (.q6_K, 255), (.q6_K, 257)]
        for (type, columns) in cases {
            var b = GGUFBuilder()
            b.addRawTensor(name: Array("w".utf8), dims: [columns, 2], type: type.rawValue,
                           data: [UInt8](repeating: 0, count: 512))
            let image = b.build()
            expectGGUFError(image.bytes, .misalignedRow, .at(image.layout.tensors[0].type), "\(type) x \(columns)")
        }
    }

    func testTensorOffsetNotTheRunningPaddedSize() {
        // First tensor not at 0.
        var b = GGUFBuilder()
        b.addTensor("a", .q4_1, dims: [32])
        b.addTensor("b", .q8_0, dims: [32])
        b.tensors[0].offset = 32
        var image = b.build()
        expectGGUFError(image.bytes, .badTensorOffset, .at(image.layout.tensors[0].offsetField))
        // Second tensor at the unpadded end of the first (20), at a later aligned slot, or huge.
        for off: UInt64 in [20, 0, 64, UInt64.max] {
            var c = b
            c.tensors[0].offset = nil
            c.tensors[1].offset = off
            image = c.build()
            expectGGUFError(image.bytes, .badTensorOffset, .at(image.layout.tensors[1].offsetField), "offset \(off)")
        }
    }

    func testTensorDataOutsideTheFile() {
        var b = GGUFBuilder()
        b.addTensor("a", .q4_1, dims: [64])
        b.addTensor("b", .q8_0, dims: [32, 2])
        let image = b.build()
        let last = image.layout.tensors[1]
        // Last tensor one byte short, then the whole data section gone.
        expectGGUFError(image.prefix(last.data + last.byteCount - 1), .tensorOutsideFile, .at(last.info))
        expectGGUFError(image.prefix(last.data), .tensorOutsideFile, .at(last.info))
        expectGGUFError(image.prefix(image.layout.dataSection), .tensorOutsideFile, .at(image.layout.tensors[0].info))
        // File ends before the padded start of the data section.
        expectGGUFError(image.prefix(last.offsetField + 8), .tensorOutsideFile, .at(image.layout.tensors[0].info))
        XCTAssertNoThrow(try GGUFFile(bytes: image.prefix(last.data + last.byteCount)))
    }

    // MARK: Exhaustive small corruptions

    func testEveryPrefixBeforeTheLastTensorByteIsRejected() {
        let b = GGUFParserTests.roundTripBuilder()
        let image = b.build()
        let lastByte = image.layout.tensors.last.map { $0.data + $0.byteCount } ?? image.bytes.count
        for n in 0..<lastByte {
            let bytes = image.prefix(n)
            do {
                _ = try GGUFFile(bytes: bytes)
                XCTFail("prefix of \(n) bytes (of \(lastByte) needed) was accepted")
            } catch let e as GGUFError {
                let allowed: [GGUFError.Kind] = [.truncated, .stringTooLong, .tooManyItems, .tensorOutsideFile]
                XCTAssertTrue(allowed.contains(e.kind), "prefix \(n): \(e)")
                if let o = e.offset { XCTAssertLessThanOrEqual(o, n, "prefix \(n): \(e)") }
                XCTAssertNotNil(e.offset, "prefix \(n): \(e)")
            } catch {
                XCTFail("prefix \(n): \(error)")
            }
        }
        for n in lastByte...image.bytes.count {
            XCTAssertNoThrow(try GGUFFile(bytes: image.prefix(n)), "prefix \(n)")
        }
    }

    func testEverySingleByteOverwriteIsHandled() {
        let image = GGUFParserTests.roundTripBuilder().build()
        let headerEnd = image.layout.dataSection
        var outcomes: [String: Int] = [:]
        for i in 0..<headerEnd {
            for v: UInt8 in [0x00, 0xFF, image.bytes[i] ^ 0x01] where v != image.bytes[i] {
                var bytes = image.bytes
                bytes[i] = v
                let outcome = GGUFParserTests.parseChecked(bytes, context: "byte \(i) := \(v)")
                outcomes[outcome, default: 0] += 1
            }
        }
        XCTAssertGreaterThan(outcomes.count, 8, "\(outcomes)")
    }

    // MARK: Property test

    /// Parses `bytes`; on success checks the invariants the reader promises, on failure checks
    /// it is a GGUFError with a sane offset. Returns "ok" or the error kind.
    @discardableResult
    static func parseChecked(_ bytes: [UInt8], context: @autoclosure () -> String) -> String {
        do {
            let f = try GGUFFile(bytes: bytes)
            checkInvariants(f, bytes, context: context())
            return "ok"
        } catch let e as GGUFError {
            if let o = e.offset {
                XCTAssertTrue(o >= 0 && o <= bytes.count, "\(context()): offset \(o) of \(bytes.count): \(e)")
            }
            XCTAssertFalse(e.description.isEmpty)
            return e.kind.rawValue
        } catch {
            XCTFail("\(context()): non-GGUFError \(error)")
            return "other"
        }
    }

    static func checkInvariants(_ f: GGUFFile, _ bytes: [UInt8], context: @autoclosure () -> String) {
        let a = f.alignment
        XCTAssertTrue(a > 0 && a & (a - 1) == 0, "\(context()): alignment \(a)")
        XCTAssertTrue([2, 3].contains(f.version), "\(context()): version \(f.version)")
        XCTAssertEqual(f.fileSize, bytes.count, context())
        XCTAssertEqual(f.keys.count, f.metadata.count, context())
        XCTAssertEqual(Set(f.keys).count, f.keys.count, context())
        XCTAssertEqual(f.dataOffset % a, 0, context())
        XCTAssertEqual(f.tensorsByName.count, f.tensors.count, context())
        var expected = 0
        for (i, t) in f.tensors.enumerated() {
            XCTAssertTrue((1...63).contains(t.name.utf8.count), "\(context()): name \(t.name)")
            XCTAssertEqual(f.tensorsByName[t.name], i, context())
            XCTAssertTrue((1...4).contains(t.dims.count), "\(context()): dims \(t.dims)")
            XCTAssertTrue(t.dims.allSatisfy { $0 >= 0 }, "\(context()): dims \(t.dims)")
            let blk = GGUFBuilder.block(t.type)
            XCTAssertEqual(t.dims[0] % blk.weights, 0, "\(context()): \(t.type) \(t.dims)")
            let rows = t.dims.dropFirst().reduce(1, *)
            XCTAssertEqual(t.byteCount, t.dims[0] / blk.weights * blk.bytes * rows, "\(context()): \(t.name)")
            XCTAssertEqual(t.fileOffset, f.dataOffset + expected, "\(context()): \(t.name)")
            XCTAssertEqual(t.fileOffset % a, 0, context())
            XCTAssertTrue(t.fileOffset >= 0 && t.byteCount >= 0 && t.fileOffset + t.byteCount <= bytes.count,
                          "\(context()): \(t.name) [\(t.fileOffset), +\(t.byteCount)) outside \(bytes.count)")
            if t.byteCount > 0 {
                // Touch the first and last byte through the reader's pointer.
                let p = f.data(of: t)
                XCTAssertEqual(p.load(fromByteOffset: 0, as: UInt8.self), bytes[t.fileOffset], context())
                XCTAssertEqual(p.load(fromByteOffset: t.byteCount - 1, as: UInt8.self),
                               bytes[t.fileOffset + t.byteCount - 1], context())
            }
            expected += GGUFBuilder.padded(t.byteCount, a)
        }
        if let v = f.metadata["general.alignment"] {
            XCTAssertEqual(v, .uint32(UInt32(a)), context())
        } else {
            XCTAssertEqual(a, 32, context())
        }
    }

    static let extremeU64: [UInt64] = [
        0, 1, 2, 3, 4, 5, 7, 8, 13, 31, 32, 33, 63, 64, 0x7F, 0xFF, 0x100, 0xFFFF, 0xFFFF_FFFF, 1 << 32,
        1 << 28, (1 << 28) + 1, 1 << 62, (1 << 62) + 1, UInt64(Int64.max), 1 << 63, (1 << 63) + 1,
        UInt64.max - 1, UInt64.max, UInt64(Int64.max) / 8, UInt64(Int64.max) / 8 + 1,
    ]
    static let extremeU32: [UInt32] = [
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 30, 31, 32, 64, 99, 255,
        0x7FFF_FFFF, 0x8000_0000, UInt32.max,
    ]

    func testRandomMutationsNeverCrash() {
        // A small image with every kind of field the reader checks.
        var b = GGUFBuilder()
        b.add("general.architecture", .string("llama"))
        b.add("general.alignment", .u32(32))
        b.add("llama.block_count", .u32(2))
        b.add("llama.rope.freq_base", .f32(10000))
        b.add("flag", .bool(true))
        b.add("big", .u64(1 << 40))
        b.add("tokenizer.ggml.tokens", .strings(["<s>", "</s>", "a", "bc", "déf"]))
        b.add("tokenizer.ggml.scores", .array(GT.f32, [.f32(0), .f32(-1), .f32(-2), .f32(-3), .f32(-4)]))
        b.add("tokenizer.ggml.token_type", .array(GT.i32, [.i32(3), .i32(3), .i32(1), .i32(1), .i32(1)]))
        b.add("nested", .array(GT.array, [.array(GT.u16, [.u16(1)]), .array(GT.array, [.array(GT.u8, [.u8(2)])])]))
        b.add("bools", .array(GT.bool, [.bool(false), .bool(true)]))
        b.addTensor("token_embd.weight", .q8_0, dims: [32, 2])
        b.addTensor("blk.0.attn_q.weight", .q4_1, dims: [32, 2])
        b.addTensor("blk.0.ffn_down.weight", .q4_K, dims: [256])
        b.addTensor("output_norm.weight", .f32, dims: [8])
        b.addTensor("blk.0.attn_norm.weight", .f16, dims: [4, 1, 1, 1])
        let image = b.build()
        let L = image.layout
        XCTAssertNoThrow(try image.parse())

        func putU64(_ bytes: inout [UInt8], _ at: Int, _ v: UInt64) {
            for i in 0..<8 where at + i < bytes.count { bytes[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) }
        }
        func putU32(_ bytes: inout [UInt8], _ at: Int, _ v: UInt32) {
            for i in 0..<4 where at + i < bytes.count { bytes[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) }
        }

        // GGUF_FUZZ_ITERATIONS runs a longer campaign; GGUF_FUZZ_TRACE=1 prints each mutation
        // before parsing, so a crash (which ends the test process) names the image that caused it.
        let env = ProcessInfo.processInfo.environment
        let iterations = env["GGUF_FUZZ_ITERATIONS"].flatMap { Int($0) } ?? 4000
        let trace = env["GGUF_FUZZ_TRACE"] == "1"
        var outcomes: [String: Int] = [:]
        var slowest: UInt64 = 0
        let rssBefore = GGUFParserTests.maxRSSKiB()
        let start = DispatchTime.now().uptimeNanoseconds
        for iteration in 0..<iterations {
            var rng = SeededGenerator(seed: 0x6767_7566 &+ UInt64(iteration))
            var bytes = image.bytes
            let mutations = 1 + Int(rng.next() % 3)
            var log: [String] = []
            for _ in 0..<mutations {
                let n = bytes.count
                switch rng.next() % 9 {
                case 0 where n > 0: // random byte
                    let i = Int(rng.next() % UInt64(n)); let v = UInt8(truncatingIfNeeded: rng.next())
                    bytes[i] = v; log.append("byte[\(i)]=\(v)")
                case 1 where n > 0: // bit flip
                    let i = Int(rng.next() % UInt64(n)); let bit = UInt8(1) << (rng.next() % 8)
                    bytes[i] ^= bit; log.append("flip[\(i)]^\(bit)")
                case 2: // truncate
                    let cut = Int(rng.next() % UInt64(n + 1))
                    bytes.removeLast(n - cut); log.append("truncate \(cut)")
                case 3, 4: // a u64 field the layout knows, set to an extreme value
                    let at = L.u64Fields[Int(rng.next() % UInt64(L.u64Fields.count))]
                    var v = GGUFParserTests.extremeU64[Int(rng.next() % UInt64(GGUFParserTests.extremeU64.count))]
                    if rng.next() % 4 == 0 { v = UInt64(max(0, n - at - 8)) &+ (rng.next() % 3) &- 1 } // around "what is left"
                    putU64(&bytes, at, v); log.append("u64@\(at)=\(v)")
                case 5: // a u32 field (version, type ids, n_dims)
                    let at = L.u32Fields[Int(rng.next() % UInt64(L.u32Fields.count))]
                    let v = GGUFParserTests.extremeU32[Int(rng.next() % UInt64(GGUFParserTests.extremeU32.count))]
                    putU32(&bytes, at, v); log.append("u32@\(at)=\(v)")
                case 6 where n > 0: // an extreme u64 anywhere, unaligned
                    let at = Int(rng.next() % UInt64(n))
                    let v = GGUFParserTests.extremeU64[Int(rng.next() % UInt64(GGUFParserTests.extremeU64.count))]
                    putU64(&bytes, at, v); log.append("u64any@\(at)=\(v)")
                case 7 where n > 0: // delete or insert a few bytes (shifts every later field)
                    let at = Int(rng.next() % UInt64(n)); let k = 1 + Int(rng.next() % 8)
                    if rng.next() % 2 == 0 {
                        bytes.removeSubrange(at..<min(n, at + k)); log.append("delete \(k)@\(at)")
                    } else {
                        bytes.insert(contentsOf: (0..<k).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: at)
                        log.append("insert \(k)@\(at)")
                    }
                default: // copy a chunk over another place (duplicates keys, names, headers)
                    guard n > 16 else { break }
                    let from = Int(rng.next() % UInt64(n - 16)); let to = Int(rng.next() % UInt64(n - 16))
                    let k = 1 + Int(rng.next() % 16)
                    let chunk = Array(bytes[from..<from + k])
                    bytes.replaceSubrange(to..<to + k, with: chunk); log.append("copy \(k) \(from)->\(to)")
                }
            }
            if trace { print("iteration \(iteration): \(log.joined(separator: ", "))"); fflush(stdout) }
            let t0 = DispatchTime.now().uptimeNanoseconds
            let outcome = GGUFParserTests.parseChecked(bytes, context: "iteration \(iteration): \(log.joined(separator: ", "))")
            slowest = max(slowest, DispatchTime.now().uptimeNanoseconds - t0)
            outcomes[outcome, default: 0] += 1
        }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let rssGrowthMiB = (GGUFParserTests.maxRSSKiB() - rssBefore) / 1024
        print("GGUF mutation outcomes over \(iterations) images: \(outcomes.sorted { $0.key < $1.key }); " +
              "\(String(format: "%.2f", elapsed)) s, slowest parse \(slowest / 1000) µs, peak RSS +\(rssGrowthMiB) MiB")
        // Never hangs: every parse of a ~1.5 KB image is quick.
        XCTAssertLessThan(slowest, 1_000_000_000, "one parse took \(slowest) ns")
        // Never allocates absurdly: counts are bounded by the bytes left.
        XCTAssertLessThan(rssGrowthMiB, 256)
        // The mutations reach deep into the format, not just the magic.
        XCTAssertGreaterThan(outcomes["ok", default: 0], 0, "\(outcomes)")
        XCTAssertGreaterThanOrEqual(outcomes.count, 12, "\(outcomes)")
    }

    func testRandomMutationsThroughMmap() throws {
        // The path-based reader shares the parser; check a few mutated files end to end.
        let image = GGUFParserTests.roundTripBuilder().build()
        let path = temporaryPath("mutated.gguf")
        defer { unlink(path) }
        var rng = SeededGenerator(seed: 42)
        for iteration in 0..<40 {
            var bytes = image.bytes
            let cut = Int(rng.next() % UInt64(bytes.count)) + 1
            bytes.removeLast(bytes.count - cut)
            let i = Int(rng.next() % UInt64(cut))
            bytes[i] = UInt8(truncatingIfNeeded: rng.next())
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            do {
                let f = try GGUFFile(path: path)
                GGUFParserTests.checkInvariants(f, bytes, context: "mmap iteration \(iteration)")
            } catch let e as GGUFError {
                XCTAssertNotEqual(e.kind, .cannotOpen, "\(e)")
            }
        }
    }

    static func maxRSSKiB() -> Int {
        var usage = rusage()
        #if os(Linux)
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Int(usage.ru_maxrss)
        #else
        getrusage(RUSAGE_SELF, &usage)
        return Int(usage.ru_maxrss) / 1024
        #endif
    }

    // MARK: Real model

    func testRealModelSmolLM2() throws {
        let f = try DefaultModel.file()
        XCTAssertEqual(f.version, 3)
        XCTAssertEqual(f.tensors.count, 272)
        XCTAssertEqual(try f.string("general.architecture"), "llama")
        XCTAssertEqual(try f.int("llama.block_count"), 30)
        let embd = try XCTUnwrap(f.tensor("token_embd.weight"))
        XCTAssertEqual(embd.type, .q8_0)
        XCTAssertEqual(embd.dims, [576, 49152])
        XCTAssertEqual(embd.byteCount, 576 / 32 * 34 * 49152)
        XCTAssertEqual(f.tensors.filter { $0.type == .q4_1 }.count, 210)
        XCTAssertEqual(f.metadata["tokenizer.ggml.tokens"]?.array?.count, 49152)
        // Every tensor sits inside the file, packed in order at the file's alignment.
        var expected = 0
        for t in f.tensors {
            XCTAssertEqual(t.fileOffset, f.dataOffset + expected, t.name)
            XCTAssertLessThanOrEqual(t.fileOffset + t.byteCount, f.fileSize, t.name)
            expected += GGUFBuilder.padded(t.byteCount, f.alignment)
        }
    }
}
