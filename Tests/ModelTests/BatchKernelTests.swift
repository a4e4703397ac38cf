import CKernels
import Foundation
import XCTest

/// ck_matmul against llama.cpp's whole mul_mat (Fixtures/batch_kernels.json, made by
/// `scripts/kernel_reference.py --batch` from a ggml graph on llama.cpp's x86 CPU backend), bit for
/// bit, for every type with a kernel and 1, 2, 3, 7, 8 and 9 activation rows, on the AVX2 path and
/// on the portable one. These cover the paths ggml-cpu takes for batches instead of vec_dot:
/// llamafile's tinyBLAS (F32/F16/BF16 with n % 16 == 0 (32 for BF16) and rows % 4 == 0; IQ4_NL,
/// Q4_0, Q5_0, Q8_0 from two rows) and ggml-cpu/tiled (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS from
/// eight rows), and the float cases tinyBLAS declines (6 rows; 80 columns).
final class BatchKernelTests: XCTestCase {
    struct Fixture: Decodable {
        struct Case: Decodable {
            let type: String
            let id: Int
            let rows: Int
            let n: Int
            let weights: String
            let outputs: [String: [[UInt32]]]
        }
        let tokens: [Int]
        let activations: [String: String]
        let cases: [Case]
    }

    static func load() throws -> Fixture {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/batch_kernels", withExtension: "json"))
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    func testMatmulMatchesLlamaCppBatches() throws {
        let fixture = try Self.load()
        XCTAssertEqual(Set(fixture.cases.map(\.type)).count, 15, "every type with a kernel")
        let pool = ck_pool_create(2)
        defer { ck_pool_destroy(pool) }
        try QuantizationTests.atEveryLevel { name in
            for c in fixture.cases {
                let w = QuantizationTests.bytes(c.weights)
                XCTAssertEqual(w.count, Int(ck_row_bytes(Int32(c.id), Int32(c.n))) * c.rows, "\(c.type) weight bytes")
                let x = QuantizationTests.floats(try XCTUnwrap(fixture.activations[String(c.n)]))
                let ntok = try XCTUnwrap(fixture.tokens.max())
                XCTAssertEqual(x.count, ntok * c.n)
                // The activation rows as the engine makes them: quantised to the weight type's format.
                let vdt = ck_vec_dot_type(Int32(c.id))
                let stride = max(Int(ck_row_bytes(vdt, Int32(c.n))), 4 * c.n)
                var xq = [UInt8](repeating: 0, count: stride * ntok)
                x.withUnsafeBufferPointer { xp in
                    xq.withUnsafeMutableBytes { q in
                        for t in 0..<ntok { ck_quantize_row(vdt, xp.baseAddress! + t * c.n, q.baseAddress! + t * stride, Int32(c.n)) }
                    }
                }
                for tokens in fixture.tokens {
                    let want = try XCTUnwrap(c.outputs[String(tokens)])
                    var out = [Float](repeating: .nan, count: c.rows * tokens)
                    w.withUnsafeBytes { wp in
                        xq.withUnsafeBytes { xp in
                            out.withUnsafeMutableBufferPointer { op in
                                var job = ck_matmul_job(type: Int32(c.id), w: wp.baseAddress, rows: Int32(c.rows), out: op.baseAddress, out_stride: Int32(c.rows))
                                ck_matmul(pool, &job, 1, Int32(c.n), xp.baseAddress, stride, Int32(tokens))
                            }
                        }
                    }
                    var bad = 0
                    for t in 0..<tokens {
                        for r in 0..<c.rows where out[t * c.rows + r].bitPattern != want[t][r] {
                            bad += 1
                            if bad <= 3 {
                                XCTFail("\(c.type) \(c.rows)x\(c.n), \(tokens) tokens (\(name)): token \(t) row \(r): got \(QuantizationTests.hex(out[t * c.rows + r])), llama.cpp \(QuantizationTests.hex(Float(bitPattern: want[t][r])))")
                            }
                        }
                    }
                }
            }
        }
    }
}
