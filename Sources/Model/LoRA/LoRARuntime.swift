import CKernels
import Foundation

/// What an architecture lets a LoRA adapter adapt: each module's (inputs, outputs), the layer count,
/// and whether llama.cpp's converter permuted q/k rows (Llama only; Qwen and Gemma use NEOX RoPE and
/// keep Hugging Face's row order).
struct LoRATargets {
    let architecture: String
    let layers: Int
    let shapes: [LoRAModule: (inputs: Int, outputs: Int)]
    let permutedQK: Bool
    let headCount: Int
    let headCountKV: Int
}

/// A LoRA adapter bound to one model: every pair checked against the model's shapes, mapped
/// to its GGUF tensor, and laid out for the forward pass, which adds scale * B (A x) to each
/// adapted product's output. A x has only `rank` values per token, so the cost is
/// rank * (inputs + outputs) per token and matrix, a few percent of the base product.
///
/// For Llama, llama.cpp's converter permutes the rows of q_proj and k_proj so RoPE can rotate
/// adjacent pairs (`permute` in convert_hf_to_gguf.py); B's rows are outputs of those matrices and
/// are permuted the same way here (as convert_lora_to_gguf.py does), A is unchanged.
final class LoRARuntime: @unchecked Sendable {
    /// One adapted matrix: aT is A transposed [inputs, rank], bT is B transposed [rank, outputs]
    /// in GGUF row order, so both products run along contiguous rows (axpy, no reductions).
    struct Matrix {
        let rank: Int
        let inputs: Int
        let outputs: Int
        let scale: Float
        let aT: UnsafeMutablePointer<Float>
        let bT: UnsafeMutablePointer<Float>
    }

    /// Per layer, per module (LoRAModule.perLayer order); nil where not adapted.
    private let layers: [[Matrix?]]
    /// lm_head -> output.weight.
    let output: Matrix?
    /// u = scale * A x for a whole batch: maxBatch x largest rank.
    private let scratch: UnsafeMutablePointer<Float>
    private let allocations: [UnsafeMutablePointer<Float>]

    init(adapter: LoRAAdapter, targets c: LoRATargets, maxBatch: Int) throws {
        // Check every pair before allocating anything, so a bad adapter leaks nothing.
        for p in adapter.pairs {
            guard let (inputs, outputs) = c.shapes[p.module] else {
                throw LoRAError("\(LoRAAdapter.weightsFile): tensor '\(p.tensorA)' adapts \(p.moduleName), which the \(c.architecture) architecture does not have")
            }
            let tensor = p.module.ggufTensor(layer: p.layer)
            if let layer = p.layer, layer >= c.layers {
                throw LoRAError("\(LoRAAdapter.weightsFile): tensor '\(p.tensorA)' adapts layer \(layer) but the model has \(c.layers) layers (0..<\(c.layers))")
            }
            guard p.inputs == inputs else {
                throw LoRAError("\(LoRAAdapter.weightsFile): tensor '\(p.tensorA)' has shape [\(p.rank), \(p.inputs)] but \(p.moduleName) (\(tensor)) takes \(inputs) inputs: expected [\(p.rank), \(inputs)]")
            }
            guard p.outputs == outputs else {
                throw LoRAError("\(LoRAAdapter.weightsFile): tensor '\(p.tensorB)' has shape [\(p.outputs), \(p.rank)] but \(p.moduleName) (\(tensor)) has \(outputs) outputs: expected [\(outputs), \(p.rank)]")
            }
        }
        var layers = [[Matrix?]](repeating: [Matrix?](repeating: nil, count: LoRAModule.perLayer.count), count: c.layers)
        var output: Matrix?
        var allocations: [UnsafeMutablePointer<Float>] = []
        var widest = 1
        for p in adapter.pairs {
            let r = p.rank, inputs = p.inputs, outputs = p.outputs
            let aT = UnsafeMutablePointer<Float>.allocate(capacity: inputs * r)
            let bT = UnsafeMutablePointer<Float>.allocate(capacity: r * outputs)
            allocations += [aT, bT]
            for j in 0..<r {
                for i in 0..<inputs { aT[i * r + j] = p.a[j * inputs + i] }
            }
            let heads: Int? = !c.permutedQK ? nil : p.module == .q ? c.headCount : p.module == .k ? c.headCountKV : nil
            for o in 0..<outputs {
                let source = heads.map { Self.huggingFaceRow(ofGGUFRow: o, headDim: outputs / $0) } ?? o
                for j in 0..<r { bT[j * outputs + o] = p.b[source * r + j] }
            }
            let m = Matrix(rank: r, inputs: inputs, outputs: outputs, scale: p.scale, aT: aT, bT: bT)
            widest = max(widest, r)
            if let layer = p.layer {
                layers[layer][p.module.ordinal] = m
            } else {
                output = m
            }
        }
        self.layers = layers
        self.output = output
        scratch = .allocate(capacity: maxBatch * widest)
        allocations.append(scratch)
        self.allocations = allocations
    }

    deinit {
        for p in allocations { p.deallocate() }
    }

    /// The converter's permute reshapes the rows as (head, 2, headDim/2) and swaps the last two
    /// axes: GGUF row h*hd + 2i + s holds HF row h*hd + s*hd/2 + i.
    static func huggingFaceRow(ofGGUFRow g: Int, headDim hd: Int) -> Int {
        let head = g / hd, within = g % hd
        return head * hd + (within % 2) * (hd / 2) + within / 2
    }

    @inline(__always) func matrix(layer: Int, _ module: LoRAModule) -> Matrix? {
        layers[layer][module.ordinal]
    }

    /// out[t] += scale * B (A x[t]) for the `rows` tokens of x (rows x inputs) and out (rows x outputs).
    /// Batches are split by token over the pool; one token runs on the calling thread, where a
    /// dispatch would cost more than the few thousand multiply-adds.
    func apply(_ m: Matrix, _ x: UnsafePointer<Float>, rows: Int, _ out: UnsafeMutablePointer<Float>, pool: WorkerPool) {
        if rows < 2 * pool.threads {
            Self.run(m, x, out, u: scratch, tokens: 0..<rows)
            return
        }
        var task = Task(m: m, x: x, out: out, u: scratch, rows: rows)
        withUnsafeMutablePointer(to: &task) { p in
            ck_pool_run(pool.raw, { context, ith, nth in
                let t = context!.assumingMemoryBound(to: Task.self).pointee
                let per = (t.rows + Int(nth) - 1) / Int(nth)
                let lo = Int(ith) * per, hi = min(t.rows, lo + per)
                if lo < hi { LoRARuntime.run(t.m, t.x, t.out, u: t.u, tokens: lo..<hi) }
            }, p)
        }
    }

    private struct Task {
        let m: Matrix
        let x: UnsafePointer<Float>
        let out: UnsafeMutablePointer<Float>
        let u: UnsafeMutablePointer<Float>
        let rows: Int
    }

    /// The LoRA term for some tokens; u holds rank values per token (scratch rows of those tokens).
    private static func run(_ m: Matrix, _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                            u: UnsafeMutablePointer<Float>, tokens: Range<Int>) {
        let r = m.rank, inputs = m.inputs, outputs = m.outputs
        for t in tokens {
            // u = scale * A x[t]: rows of A^T weighted by the inputs and summed (a rank-wide axpy each).
            let ut = u + t * r, xt = x + t * inputs
            ut.initialize(repeating: 0, count: r)
            for i in 0..<inputs {
                let xi = xt[i], row = m.aT + i * r
                for j in 0..<r { ut[j] += xi * row[j] }
            }
            for j in 0..<r { ut[j] *= m.scale }
            // out[t] += sum_j u[j] * B^T[j]: contiguous rows of outputs.
            let ot = out + t * outputs
            for j in 0..<r {
                let uj = ut[j], row = m.bT + j * outputs
                for o in 0..<outputs { ot[o] += uj * row[o] }
            }
        }
    }
}
