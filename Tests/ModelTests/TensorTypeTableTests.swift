import CKernels
import Foundation
import Model
import XCTest

/// Swift's GGMLType and the kernels' table (ck_type_traits) describe the same types, and both
/// agree with llama.cpp's own type table (names, block sizes, block bytes as recorded in
/// Fixtures/kernels.json by scripts/kernel_reference.py).
final class TensorTypeTableTests: XCTestCase {
    /// Every ggml id ggml defines today, with its name as ggml spells it in upper case.
    static let ggmlIds: [UInt32: String] = [
        0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0", 9: "Q8_1", 10: "Q2_K",
        11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 15: "Q8_K", 16: "IQ2_XXS", 17: "IQ2_XS", 18: "IQ3_XXS",
        19: "IQ1_S", 20: "IQ4_NL", 21: "IQ3_S", 22: "IQ2_S", 23: "IQ4_XS", 24: "I8", 25: "I16", 26: "I32",
        27: "I64", 28: "F64", 29: "IQ1_M", 30: "BF16", 34: "TQ1_0", 35: "TQ2_0", 39: "MXFP4", 40: "NVFP4",
        41: "Q1_0", 42: "Q2_0",
    ]
    static let withKernels: Set<String> = ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K",
                                           "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS"]
    static let activationTypes: Set<String> = ["F32", "F16", "BF16", "Q8_0", "Q8_1", "Q8_K"]

    func testSwiftAndCTablesAgreeForEveryId() {
        XCTAssertEqual(Set(GGMLType.allCases.map(\.rawValue)), Set(Self.ggmlIds.keys), "GGMLType lists every ggml id")
        for id in 0..<UInt32(CK_TYPE_COUNT) + 8 {
            let c = ck_type_traits(Int32(id))
            let swift = GGMLType(rawValue: id)
            guard let name = Self.ggmlIds[id] else {
                XCTAssertNil(c, "id \(id) is not a ggml type: the C table has no entry")
                XCTAssertNil(swift, "id \(id) is not a ggml type: GGMLType has no case")
                XCTAssertNil(ck_type_name(Int32(id)))
                XCTAssertEqual(ck_row_bytes(Int32(id), 256), 0)
                continue
            }
            guard let t = c?.pointee, let s = swift else {
                XCTFail("id \(id) (\(name)): C entry \(c == nil ? "missing" : "present"), GGMLType case \(swift == nil ? "missing" : "present")")
                continue
            }
            XCTAssertEqual(Int(t.type), Int(id))
            XCTAssertEqual(String(cString: t.name), name, "C name of id \(id)")
            XCTAssertEqual(s.description, name, "Swift name of id \(id)")
            XCTAssertEqual(s.blockSize, Int(t.block_size), name)
            XCTAssertEqual(s.blockBytes, Int(t.block_bytes), name)
            XCTAssertEqual(s.hasKernel, t.has_kernel != 0, name)
            XCTAssertEqual(s.hasKernel, Self.withKernels.contains(name), "\(name): which types have kernels")
            XCTAssertEqual(t.is_activation != 0, Self.activationTypes.contains(name), "\(name): which types are activation formats")
            XCTAssertEqual(s.rowBytes(s.blockSize * 3), 3 * s.blockBytes, name)
            XCTAssertEqual(Int(ck_row_bytes(Int32(id), Int32(s.blockSize * 3))), 3 * s.blockBytes, name)
            if s.hasKernel {
                XCTAssertNotNil(t.dequantize, name)
                XCTAssertNotNil(t.vec_dot, name)
                let vdt = ck_vec_dot_type(Int32(id))
                XCTAssertEqual(vdt, t.vec_dot_type, name)
                XCTAssertTrue(Self.activationTypes.contains(ck_type_name(vdt).map { String(cString: $0) } ?? ""), "\(name)'s activation type")
            } else {
                XCTAssertNil(t.vec_dot, name)
                XCTAssertEqual(ck_vec_dot_type(Int32(id)), -1, "\(name) has no dot product")
            }
            if t.is_activation != 0 { XCTAssertNotNil(t.quantize, name) }
        }
    }

    /// The activation types are llama.cpp's CPU backend's (F16 and BF16 weights take F16 and BF16).
    func testActivationTypesAreLlamaCpps() {
        let expected: [GGMLType: GGMLType] = [
            .f32: .f32, .f16: .f16, .bf16: .bf16, .q4_0: .q8_0, .q5_0: .q8_0, .q8_0: .q8_0, .iq4_nl: .q8_0,
            .q4_1: .q8_1, .q5_1: .q8_1, .q2_K: .q8_K, .q3_K: .q8_K, .q4_K: .q8_K, .q5_K: .q8_K, .q6_K: .q8_K,
            .iq4_xs: .q8_K,
        ]
        for t in GGMLType.allCases where t.hasKernel {
            XCTAssertEqual(ck_vec_dot_type(Int32(t.rawValue)), expected[t].map { Int32($0.rawValue) }, "\(t)")
        }
    }

    /// Names, block sizes and bytes agree with llama.cpp's type table (ggml_get_type_traits).
    func testTablesAgreeWithLlamaCpp() throws {
        let fixture = try QuantizationTests.loadKernelFixture()
        XCTAssertEqual(fixture.types.count, Int(CK_TYPE_COUNT))
        for f in fixture.types {
            let swift = GGMLType(rawValue: UInt32(f.id))
            if f.block_size == 0 { // an id ggml has removed ("DEPRECATED", "... REMOVED")
                XCTAssertNil(swift, "removed id \(f.id) (\(f.ggml_name))")
                continue
            }
            let t = try XCTUnwrap(swift, "ggml id \(f.id) (\(f.ggml_name)) has no GGMLType case")
            XCTAssertEqual(t.description, f.ggml_name.uppercased(), "id \(f.id)")
            XCTAssertEqual(t.blockSize, f.block_size, "\(t)")
            XCTAssertEqual(t.blockBytes, f.block_bytes, "\(t)")
        }
    }
}
