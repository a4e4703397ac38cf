import CKernels

/// Threads that stay alive for the life of a model, so the few hundred matrix products of one
/// token cost a spin-wait each, not a thread wake-up.
public final class WorkerPool: @unchecked Sendable {
    let raw: OpaquePointer
    public let threads: Int

    public init(threads: Int) {
        raw = ck_pool_create(Int32(max(1, threads)))
        self.threads = Int(ck_pool_threads(raw))
    }

    deinit { ck_pool_destroy(raw) }
}

/// A weight matrix in the mapped file: `rows` rows of `cols` weights of one ggml type
/// (ggml dims {cols, rows}).
public struct WeightMatrix: @unchecked Sendable {
    public let name: String
    public let type: GGMLType
    public let rows: Int
    public let cols: Int
    public let data: UnsafeRawPointer
    /// Keeps the mapping that `data` points into alive as long as the matrix is.
    private let file: GGUFFile
    public var rowBytes: Int { type.rowBytes(cols)! }

    /// The activation format its dot product takes (Q8_0, Q8_1, or F32).
    var activationType: Int32 { ck_vec_dot_type(Int32(type.rawValue)) }

    /// Dequantises row `r` into `out` (cols floats).
    public func dequantizeRow(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        ck_dequantize_row(Int32(type.rawValue), data + r * rowBytes, out, Int32(cols))
    }

    /// Row `r` dotted with `x` the way the forward pass does it: `x` is first quantised to the
    /// activation format this type's kernel takes (Q8_0/Q8_1 per 32 values, or kept as f32).
    public func dot(row r: Int, _ x: [Float]) -> Float {
        precondition(x.count == cols && r >= 0 && r < rows)
        let format = activationType
        let bytes = max(Int(ck_row_bytes(format, Int32(cols))), cols * 4)
        let q = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        defer { q.deallocate() }
        x.withUnsafeBufferPointer { ck_quantize_row(format, $0.baseAddress, q, Int32(cols)) }
        return ck_vec_dot(Int32(type.rawValue), Int32(cols), data + r * rowBytes, q)
    }

    public init(file: GGUFFile, name: String, rows: Int, cols: Int) throws {
        guard let info = file.tensor(name) else {
            throw GGUFError(.missingTensor, "missing tensor '\(name)'")
        }
        let expected = rows == 1 ? [cols] : [cols, rows]
        guard info.dims == expected || (rows == 1 && info.dims == [cols, 1]) else {
            throw GGUFError(.wrongTensorShape, "tensor '\(name)' has dims \(info.dims), expected \(expected)", offset: info.fileOffset)
        }
        guard info.type.hasKernel else {
            throw GGUFError(.unknownTensorType, "tensor '\(name)' has type \(info.type), which the engine cannot compute with (supported: \(GGMLType.withKernels))", offset: info.fileOffset)
        }
        guard info.type.rowBytes(cols) != nil else {
            throw GGUFError(.misalignedRow, "tensor '\(name)' has rows of \(cols) values, not a whole number of \(info.type) blocks of \(info.type.blockSize)", offset: info.fileOffset)
        }
        self.name = name
        self.type = info.type
        self.rows = rows
        self.cols = cols
        self.data = file.data(of: info)
        self.file = file
    }
}
