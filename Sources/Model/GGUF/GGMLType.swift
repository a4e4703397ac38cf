import CKernels

/// Tensor element types of ggml, with the ids GGUF stores on disk: every id ggml defines, so a
/// file holding any of them parses. The facts about each (name, block size, block bytes, whether
/// the engine has kernels for it) come from the kernels' one table, `ck_type_traits` in
/// Sources/CKernels/quants.c; a type with `hasKernel == false` is named but cannot be computed
/// with, and the loader refuses it by that name. An id not listed here is rejected by the reader.
public enum GGMLType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case f32 = 0
    case f16 = 1
    case q4_0 = 2
    case q4_1 = 3
    case q5_0 = 6
    case q5_1 = 7
    case q8_0 = 8
    case q8_1 = 9
    case q2_K = 10
    case q3_K = 11
    case q4_K = 12
    case q5_K = 13
    case q6_K = 14
    case q8_K = 15
    case iq2_xxs = 16
    case iq2_xs = 17
    case iq3_xxs = 18
    case iq1_s = 19
    case iq4_nl = 20
    case iq3_s = 21
    case iq2_s = 22
    case iq4_xs = 23
    case i8 = 24
    case i16 = 25
    case i32 = 26
    case i64 = 27
    case f64 = 28
    case iq1_m = 29
    case bf16 = 30
    case tq1_0 = 34
    case tq2_0 = 35
    case mxfp4 = 39
    case nvfp4 = 40
    case q1_0 = 41
    case q2_0 = 42

    /// The kernels' table entry (every case has one; TensorTypeTableTests checks).
    private var traits: ck_type_traits_t { ck_type_traits(Int32(rawValue))!.pointee }

    /// Number of weights in one quantisation block (1 for the scalar types).
    public var blockSize: Int { Int(traits.block_size) }

    /// Bytes of one block.
    public var blockBytes: Int { Int(traits.block_bytes) }

    /// Whether the engine can compute with tensors of this type: dequantise them and take their
    /// dot products (ck_dequantize_row / ck_vec_dot). Q8_1 and Q8_K are activation formats only.
    public var hasKernel: Bool { traits.has_kernel != 0 }

    /// Bytes of a row of `count` weights; nil when count is not a whole number of blocks.
    public func rowBytes(_ count: Int) -> Int? {
        guard count % blockSize == 0 else { return nil }
        return count / blockSize * blockBytes
    }

    /// The type's name as ggml and gguf spell it in upper case: "Q4_K", "IQ2_XXS", "BF16".
    public var description: String { String(cString: traits.name) }
}
