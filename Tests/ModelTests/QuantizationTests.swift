import Foundation
import Model
import TestSupport
import XCTest

/// Dequantisation of every supported tensor type against the block formulas written out
/// independently here, and the quantised dot products against a float reference.
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

    /// The portable C kernels and the AVX2 ones give the same bits (CK_SIMD=0 switches at start-up,
    /// so this runs the binary twice).
    func testPortableAndSIMDPathsAgreeOnTheRealModel() throws {
        let bin = try Binary.path()
        _ = try DefaultModel.file()
        let a = try Binary.run(bin, ["logits", "--model", DefaultModel.path, "--top", "20", "--json", "The quick brown fox"], env: [:])
        let b = try Binary.run(bin, ["logits", "--model", DefaultModel.path, "--top", "20", "--json", "The quick brown fox"], env: ["CK_SIMD": "0"])
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertEqual(a.stdout, b.stdout, "SIMD and portable logits differ")
    }
}
