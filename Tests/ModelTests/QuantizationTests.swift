import CKernels
import Foundation
import Model
import TestSupport
import XCTest

/// Dequantisation of every supported tensor type against the block formulas written out
/// independently here, and the quantised dot products against a float reference; then every type
/// with a kernel against llama.cpp itself (Fixtures/kernels.json, made by
/// scripts/kernel_reference.py from llama.cpp's x86 CPU kernels): dequantisation, activation
/// quantisation and vec_dot bit for bit, on the AVX2 path and on the portable one (F16/BF16
/// weights take F16/BF16 activations, as ggml's vec_dot_type). The batch paths of ck_matmul are
/// checked against llama.cpp's mul_mat in BatchKernelTests.
final class QuantizationTests: XCTestCase {
    /// IEEE half from float (round to nearest; test values are exactly representable).
    func half(_ f: Float) -> [UInt8] {
        let h = Float16(f).bitPattern
        return [UInt8(h & 0xFF), UInt8(h >> 8)]
    }

    func matrix(_ type: GGMLType, cols: Int, rows: Int, data: [UInt8]) throws -> (GGUFFile, WeightMatrix) {
        var b = GGUFBuilder()
        b.addTensor("w", type, dims: [UInt64(cols), UInt64(rows)], data: data)
        let file = try GGUFFile(bytes: b.build().bytes)
        return (file, try WeightMatrix(file: file, name: "w", rows: rows, cols: cols))
    }

    func dequantized(_ m: WeightMatrix, row: Int) -> [Float] {
        var out = [Float](repeating: .nan, count: m.cols)
        out.withUnsafeMutableBufferPointer { m.dequantizeRow(row, into: $0.baseAddress!) }
        return out
    }

    func assertClose(_ a: [Float], _ b: [Float], _ tol: Float = 0, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        if let i = (0..<min(a.count, b.count)).first(where: { abs(a[$0] - b[$0]) > tol }) {
            XCTFail("\(what): first mismatch at \(i): got \(a[i]), expected \(b[i])", file: file, line: line)
        }
    }

    var rng = SeededGenerator(seed: 42)

    func testQ4_0() throws {
        let d: Float = 0.5
        let qs: [UInt8] = (0..<16).map { UInt8($0) | UInt8((15 - $0) << 4) }
        let (_, m) = try matrix(.q4_0, cols: 32, rows: 1, data: half(d) + qs)
        let expected = (0..<32).map { j -> Float in j < 16 ? d * Float(Int(qs[j] & 15) - 8) : d * Float(Int(qs[j - 16] >> 4) - 8) }
        assertClose(dequantized(m, row: 0), expected, 0, "Q4_0")
    }

    func testQ4_1() throws {
        let d: Float = 0.25, mn: Float = -1.5
        let qs: [UInt8] = (0..<16).map { UInt8(($0 * 7) % 16) | UInt8((($0 * 3) % 16) << 4) }
        let (_, m) = try matrix(.q4_1, cols: 32, rows: 1, data: half(d) + half(mn) + qs)
        let expected = (0..<32).map { j -> Float in j < 16 ? d * Float(qs[j] & 15) + mn : d * Float(qs[j - 16] >> 4) + mn }
        assertClose(dequantized(m, row: 0), expected, 0, "Q4_1")
    }

    func testQ8_0() throws {
        let d: Float = 0.125
        let qs: [Int8] = (0..<32).map { Int8($0 * 8 - 127) }
        let (_, m) = try matrix(.q8_0, cols: 32, rows: 1, data: half(d) + qs.map { UInt8(bitPattern: $0) })
        assertClose(dequantized(m, row: 0), qs.map { d * Float($0) }, 0, "Q8_0")
    }

    func testF16AndBF16AndF32() throws {
        let values: [Float] = [0, 1, -2.5, 65504, 1.0 / 1024, -0.375, 3, 7.75]
        let (_, f16) = try matrix(.f16, cols: 8, rows: 1, data: values.flatMap(half))
        assertClose(dequantized(f16, row: 0), values, 0, "F16")
        let bf16Bytes = values.flatMap { v -> [UInt8] in let b = v.bitPattern >> 16; return [UInt8(b & 0xFF), UInt8(b >> 8)] }
        let (_, bf16) = try matrix(.bf16, cols: 8, rows: 1, data: bf16Bytes)
        assertClose(dequantized(bf16, row: 0), values.map { Float(bitPattern: $0.bitPattern & 0xFFFF_0000) }, 0, "BF16")
        let (_, f32) = try matrix(.f32, cols: 8, rows: 1, data: values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian, Array.init) })
        assertClose(dequantized(f32, row: 0), values, 0, "F32")
    }

    /// Q4_K: 8 sub-blocks of 32 with 6-bit scales and mins packed in 12 bytes.
    func testQ4_K() throws {
        let d: Float = 0.5, dmin: Float = 0.25
        let sc: [UInt8] = [1, 5, 17, 33, 63, 2, 40, 9]
        let mn: [UInt8] = [0, 7, 12, 63, 30, 1, 4, 50]
        var scales = [UInt8](repeating: 0, count: 12)
        for j in 0..<4 {
            scales[j] = (sc[j] & 63) | ((sc[j + 4] >> 4) << 6)
            scales[j + 4] = (mn[j] & 63) | ((mn[j + 4] >> 4) << 6)
            scales[j + 8] = (sc[j + 4] & 15) | ((mn[j + 4] & 15) << 4)
        }
        let qs: [UInt8] = (0..<128).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let (_, m) = try matrix(.q4_K, cols: 256, rows: 1, data: half(d) + half(dmin) + scales + qs)
        var expected: [Float] = []
        for chunk in 0..<4 {
            for l in 0..<32 { expected.append(d * Float(sc[2 * chunk]) * Float(qs[chunk * 32 + l] & 15) - dmin * Float(mn[2 * chunk])) }
            for l in 0..<32 { expected.append(d * Float(sc[2 * chunk + 1]) * Float(qs[chunk * 32 + l] >> 4) - dmin * Float(mn[2 * chunk + 1])) }
        }
        assertClose(dequantized(m, row: 0), expected, 1e-3, "Q4_K")
    }

    /// Q6_K: 6-bit values from 4 low bits (ql) and 2 high bits (qh), minus 32, 16 int8 scales.
    func testQ6_K() throws {
        let d: Float = 0.125
        let ql: [UInt8] = (0..<128).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let qh: [UInt8] = (0..<64).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let scales: [Int8] = (0..<16).map { Int8($0 * 9 - 70) }
        let (_, m) = try matrix(.q6_K, cols: 256, rows: 1, data: ql + qh + scales.map { UInt8(bitPattern: $0) } + half(d))
        var expected = [Float](repeating: 0, count: 256)
        for i in 0..<256 {
            // Element i: half h = i/128, within it quarter g = (i%128)/32 and l = i%32.
            let h = i / 128, g = (i % 128) / 32, l = i % 32
            let low = g % 2 == 0 ? ql[h * 64 + l] & 15 : ql[h * 64 + l + 32] & 15
            let lowHi = g < 2 ? low : (g == 2 ? ql[h * 64 + l] >> 4 : ql[h * 64 + l + 32] >> 4)
            let q = Int(lowHi | (((qh[h * 32 + l] >> (2 * g)) & 3) << 4)) - 32
            expected[i] = d * Float(scales[h * 8 + l / 16 + 2 * g]) * Float(q)
        }
        assertClose(dequantized(m, row: 0), expected, 1e-3, "Q6_K")
    }

    /// The quantised dot products agree with the float dot of the dequantised row to within the
    /// activation's 8-bit quantisation error.
    func testDotProductsMatchFloatReference() throws {
        for type in [GGMLType.q4_0, .q4_1, .q8_0, .q4_K, .q6_K, .f16, .f32, .bf16] {
            let cols = 512, rows = 3
            let bytes = type.rowBytes(cols)! * rows
            var data = (0..<bytes).map { _ in UInt8.random(in: 0...255, using: &rng) }
            // Keep every half-precision scale finite and modest: overwrite them with 0.01..0.1.
            patchScales(type, &data, blocks: cols / type.blockSize * rows)
            let (_, m) = try matrix(type, cols: cols, rows: rows, data: data)
            let x = (0..<cols).map { _ in Float.random(in: -1...1, using: &rng) }
            for r in 0..<rows {
                let w = dequantized(m, row: r)
                let reference = zip(w, x).reduce(Float(0)) { $0 + $1.0 * $1.1 }
                let scale = zip(w, x).reduce(Float(0)) { $0 + abs($1.0 * $1.1) }
                let got = m.dot(row: r, x)
                XCTAssertEqual(got, reference, accuracy: max(1e-4, scale * 0.02), "\(type) row \(r)")
            }
        }
    }

    private func patchScales(_ type: GGMLType, _ data: inout [UInt8], blocks: Int) {
        let bb = type.blockBytes
        func put(_ at: Int) { let h = half(Float.random(in: 0.01...0.1, using: &rng)); data[at] = h[0]; data[at + 1] = h[1] }
        for b in 0..<blocks {
            let o = b * bb
            switch type {
            case .q4_0, .q8_0: put(o)
            case .q4_1: put(o); put(o + 2)
            case .q4_K: put(o); put(o + 2)
            case .q6_K: put(o + 208)
            case .f16: put(o)
            case .bf16: let v = Float.random(in: -1...1, using: &rng).bitPattern >> 16; data[o] = UInt8(v & 0xFF); data[o + 1] = UInt8(v >> 8)
            case .f32: withUnsafeBytes(of: Float.random(in: -1...1, using: &rng).bitPattern.littleEndian) { for i in 0..<4 { data[o + i] = $0[i] } }
            default: break
            }
        }
    }

    // MARK: - against llama.cpp (Fixtures/kernels.json)

    struct KernelFixture: Decodable {
        struct TypeFacts: Decodable { let id: Int; let ggml_name: String; let block_size: Int; let block_bytes: Int }
        struct Case: Decodable {
            let type: String
            let id: Int
            let n: Int
            let activation_type: String
            let weights: [String]
            let dequantized: [String]
            let activations: [String]
            let activations_quantized: [String]?
            let vec_dot: [[UInt32]]
            let vec_dot_exact: Bool
        }
        let types: [TypeFacts]
        let cases: [Case]
    }

    static func loadKernelFixture() throws -> KernelFixture {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/kernels", withExtension: "json"))
        return try JSONDecoder().decode(KernelFixture.self, from: Data(contentsOf: url))
    }

    static func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(hex.utf8.count / 2)
        var it = hex.utf8.makeIterator()
        func nibble(_ c: UInt8) -> UInt8 { c <= 57 ? c - 48 : (c | 0x20) - 87 }
        while let a = it.next(), let b = it.next() { out.append(nibble(a) << 4 | nibble(b)) }
        return out
    }

    static func floats(_ hex: String) -> [Float] {
        let b = bytes(hex)
        return stride(from: 0, to: b.count, by: 4).map {
            Float(bitPattern: UInt32(b[$0]) | UInt32(b[$0 + 1]) << 8 | UInt32(b[$0 + 2]) << 16 | UInt32(b[$0 + 3]) << 24)
        }
    }

    /// The first index where two sequences differ bitwise, with both values, or nil.
    static func firstMismatch<T: Equatable>(_ got: [T], _ want: [T]) -> (Int, T?, T?)? {
        for i in 0..<max(got.count, want.count) {
            let g = i < got.count ? got[i] : nil, w = i < want.count ? want[i] : nil
            if g != w { return (i, g, w) }
        }
        return nil
    }

    static func hex(_ f: Float) -> String { "\(f) (0x\(String(f.bitPattern, radix: 16)))" }

    /// The SIMD levels this CPU has, best first, with their names: 2 (AVX-512 VNNI), 1 (AVX2), 0 (portable).
    static func levels() -> [(Int32, String)] {
        let names: [Int32: String] = [2: "avx512-vnni", 1: "avx2", 0: "portable"]
        let saved = ck_simd_level()
        defer { _ = ck_set_simd_level(saved) }
        _ = ck_set_simd_level(2)
        let best = ck_simd_level()
        if best < 2 { print("this CPU lacks \(best < 1 ? "AVX2 and " : "")AVX-512 VNNI: levels 0...\(best) only") }
        return (0...best).reversed().map { ($0, names[$0]!) }
    }

    /// Runs body at every SIMD level the CPU has (best first), restoring the level.
    static func atEveryLevel(_ body: (_ level: String) throws -> Void) rethrows {
        let saved = ck_simd_level()
        defer { _ = ck_set_simd_level(saved) }
        for (level, name) in levels() {
            _ = ck_set_simd_level(level)
            XCTAssertEqual(ck_simd_level(), level)
            try body(name)
        }
    }

    func atEveryLevel(_ body: (_ level: String) throws -> Void) rethrows { try Self.atEveryLevel(body) }

    func testDequantizationMatchesLlamaCpp() throws {
        let fixture = try Self.loadKernelFixture()
        XCTAssertEqual(fixture.cases.count, 15, "every type with a kernel")
        try atEveryLevel { level in
            for c in fixture.cases {
                let type = try XCTUnwrap(GGMLType(rawValue: UInt32(c.id)), c.type)
                XCTAssertEqual(type.description, c.type)
                XCTAssertTrue(type.hasKernel, c.type)
                for (r, (w, d)) in zip(c.weights, c.dequantized).enumerated() {
                    let data = Self.bytes(w)
                    XCTAssertEqual(data.count, type.rowBytes(c.n), "\(c.type) row bytes")
                    var out = [Float](repeating: .nan, count: c.n)
                    data.withUnsafeBytes { raw in out.withUnsafeMutableBufferPointer { ck_dequantize_row(Int32(c.id), raw.baseAddress, $0.baseAddress, Int32(c.n)) } }
                    let want = Self.floats(d)
                    if let (i, g, e) = Self.firstMismatch(out.map(\.bitPattern), want.map(\.bitPattern)) {
                        XCTFail("\(c.type) dequantize (\(level)) row \(r): first mismatch at \(i): got \(g.map { Self.hex(Float(bitPattern: $0)) } ?? "-"), llama.cpp \(e.map { Self.hex(Float(bitPattern: $0)) } ?? "-")")
                    }
                }
            }
        }
    }

    func testActivationQuantizationMatchesLlamaCpp() throws {
        let fixture = try Self.loadKernelFixture()
        var checked = Set<String>()
        try atEveryLevel { level in
            for c in fixture.cases {
                guard let expected = c.activations_quantized else { continue }
                let vdt = ck_vec_dot_type(Int32(c.id))
                XCTAssertEqual(ck_type_name(vdt).map { String(cString: $0) }, c.activation_type, "\(c.type)'s activation type")
                for (r, (a, q)) in zip(c.activations, expected).enumerated() {
                    let x = Self.floats(a)
                    var out = [UInt8](repeating: 0xAA, count: Int(ck_row_bytes(vdt, Int32(c.n))))
                    x.withUnsafeBufferPointer { xp in out.withUnsafeMutableBytes { ck_quantize_row(vdt, xp.baseAddress, $0.baseAddress, Int32(c.n)) } }
                    if let (i, g, e) = Self.firstMismatch(out, Self.bytes(q)) {
                        XCTFail("\(c.type): \(c.activation_type) quantisation (\(level)) row \(r): first mismatching byte \(i): got \(g.map { String($0) } ?? "-"), llama.cpp \(e.map { String($0) } ?? "-")")
                    }
                }
                checked.insert(c.activation_type)
            }
        }
        XCTAssertEqual(checked, ["Q8_0", "Q8_1", "Q8_K", "F32", "F16", "BF16"])
    }

    func testVecDotMatchesLlamaCpp() throws {
        let fixture = try Self.loadKernelFixture()
        try atEveryLevel { level in
            for c in fixture.cases {
                let vdt = ck_vec_dot_type(Int32(c.id))
                for (r, w) in c.weights.enumerated() {
                    let wb = Self.bytes(w)
                    let deq = Self.floats(c.dequantized[r])
                    for (a, act) in c.activations.enumerated() {
                        let x = Self.floats(act)
                        // The activation row as the engine makes it (checked bit for bit above).
                        var xq = [UInt8](repeating: 0, count: max(Int(ck_row_bytes(vdt, Int32(c.n))), 4 * c.n))
                        x.withUnsafeBufferPointer { xp in xq.withUnsafeMutableBytes { ck_quantize_row(vdt, xp.baseAddress, $0.baseAddress, Int32(c.n)) } }
                        let got = wb.withUnsafeBytes { wp in xq.withUnsafeBytes { ck_vec_dot(Int32(c.id), Int32(c.n), wp.baseAddress, $0.baseAddress) } }
                        let want = Float(bitPattern: c.vec_dot[r][a])
                        if c.vec_dot_exact {
                            XCTAssertEqual(got.bitPattern, want.bitPattern,
                                           "\(c.type) vec_dot (\(level)) row \(r) x activation \(a): got \(Self.hex(got)), llama.cpp \(Self.hex(want))")
                        } else {
                            let scale = zip(deq, x).reduce(Float(0)) { $0 + abs($1.0 * $1.1) }
                            let rel = abs(got - want) / max(scale, .leastNormalMagnitude)
                            print("QuantizationTests: \(c.type) vec_dot (\(level)) row \(r) x \(a): engine \(got), llama.cpp \(want) (its own float dot): |diff| / sum|w*x| = \(rel)")
                            XCTAssertLessThanOrEqual(rel, 2e-3, "\(c.type) vec_dot (\(level)) row \(r) x activation \(a)")
                        }
                    }
                }
            }
        }
    }

    /// ck_matmul's generic path and its fast paths give every row exactly ck_vec_dot's value, for
    /// every type, one token and several (below the tiled kernel's 8; IQ4_NL's batches take
    /// tinyBLAS's order, checked in BatchKernelTests; 9 rows keep the float types on vec_dot).
    func testMatmulAgreesWithVecDotForEveryType() throws {
        let fixture = try Self.loadKernelFixture()
        let pool = ck_pool_create(2)
        defer { ck_pool_destroy(pool) }
        try atEveryLevel { level in
            for c in fixture.cases {
                let vdt = ck_vec_dot_type(Int32(c.id))
                // 9 rows: the fixture's two rows repeated (the 4-row fast paths and a remainder).
                let rows = 9, ntok = 5
                let w = (0..<rows).flatMap { Self.bytes(c.weights[$0 % 2]) }
                let stride = max(Int(ck_row_bytes(vdt, Int32(c.n))), 4 * c.n)
                var xq = [UInt8](repeating: 0, count: stride * ntok)
                for t in 0..<ntok {
                    var x = Self.floats(c.activations[t % 2])
                    if t >= 2 { x = x.map { $0 * Float(t) * 0.37 } }
                    x.withUnsafeBufferPointer { xp in xq.withUnsafeMutableBytes { ck_quantize_row(vdt, xp.baseAddress, $0.baseAddress! + t * stride, Int32(c.n)) } }
                }
                let rb = Int(ck_row_bytes(Int32(c.id), Int32(c.n)))
                for tokens in c.type == "IQ4_NL" ? [1] : [1, ntok] {
                    var out = [Float](repeating: .nan, count: rows * tokens)
                    w.withUnsafeBytes { wp in
                        xq.withUnsafeBytes { xp in
                            out.withUnsafeMutableBufferPointer { op in
                                var job = ck_matmul_job(type: Int32(c.id), w: wp.baseAddress, rows: Int32(rows), out: op.baseAddress, out_stride: Int32(rows))
                                ck_matmul(pool, &job, 1, Int32(c.n), xp.baseAddress, stride, Int32(tokens))
                            }
                        }
                    }
                    for t in 0..<tokens {
                        for r in 0..<rows {
                            let want = w.withUnsafeBytes { wp in xq.withUnsafeBytes { ck_vec_dot(Int32(c.id), Int32(c.n), wp.baseAddress! + r * rb, $0.baseAddress! + t * stride) } }
                            XCTAssertEqual(out[t * rows + r].bitPattern, want.bitPattern, "\(c.type) matmul (\(level), \(tokens) tokens) token \(t) row \(r)")
                        }
                    }
                }
            }
        }
    }

    /// The portable C kernels, the AVX2 ones and the VNNI ones give the same bits (CK_SIMD caps the
    /// level at start-up, so this runs the binary once a level).
    func testPortableAndSIMDPathsAgreeOnTheRealModel() throws {
        let bin = try Binary.path()
        _ = try DefaultModel.file()
        let args = ["logits", "--model", DefaultModel.path, "--top", "20", "--json", "The quick brown fox"]
        let best = try Binary.run(bin, args, env: [:])
        XCTAssertEqual(best.status, 0, best.stderr)
        for level in ["1", "0"] {
            let capped = try Binary.run(bin, args, env: ["CK_SIMD": level])
            XCTAssertEqual(best.stdout, capped.stdout, "logits at the best SIMD level differ from CK_SIMD=\(level)'s")
        }
    }
}
