/// Tensor element types of ggml, with the ids GGUF stores on disk.
/// Only the types the engine can dequantise are listed; any other id is rejected by the reader.
public enum GGMLType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case f32 = 0
    case f16 = 1
    case q4_0 = 2
    case q4_1 = 3
    case q8_0 = 8
    case q8_1 = 9
    case q4_K = 12
    case q6_K = 14
    case q8_K = 15
    case bf16 = 30

    /// Number of weights in one quantisation block.
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16: return 1
        case .q4_0, .q4_1, .q8_0, .q8_1: return 32
        case .q4_K, .q6_K, .q8_K: return 256
        }
    }

    /// Bytes of one block.
    public var blockBytes: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q4_0: return 2 + 16            // f16 d; u8 qs[16]
        case .q4_1: return 2 + 2 + 16        // f16 d, m; u8 qs[16]
        case .q8_0: return 2 + 32            // f16 d; i8 qs[32]
        case .q8_1: return 2 + 2 + 32        // f16 d, s; i8 qs[32]
        case .q4_K: return 2 + 2 + 12 + 128  // f16 d, dmin; u8 scales[12]; u8 qs[128]
        case .q6_K: return 128 + 64 + 16 + 2 // u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d
        case .q8_K: return 4 + 256 + 32      // f32 d; i8 qs[256]; i16 bsums[16]
        }
    }

    /// Bytes of a row of `count` weights; nil when count is not a whole number of blocks.
    public func rowBytes(_ count: Int) -> Int? {
        guard count % blockSize == 0 else { return nil }
        return count / blockSize * blockBytes
    }

    public var description: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .q4_0: return "Q4_0"
        case .q4_1: return "Q4_1"
        case .q8_0: return "Q8_0"
        case .q8_1: return "Q8_1"
        case .q4_K: return "Q4_K"
        case .q6_K: return "Q6_K"
        case .q8_K: return "Q8_K"
        case .bf16: return "BF16"
        }
    }
}
