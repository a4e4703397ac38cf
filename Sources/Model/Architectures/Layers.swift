import CKernels
import Foundation

// The pieces every architecture is composed of. Each architecture file reads its hyper-parameters
// from `ARCH.*` metadata into a `TransformerConfig`, names its tensors, and hands both to
// `TransformerModel`, whose forward pass calls these pieces in the order the architecture's graph
// in llama.cpp does.

/// Reads `ARCH.KEY` values with llama.cpp's defaults, every value bounded before it sizes anything.
struct HyperParameters {
    let file: GGUFFile
    let arch: String

    func key(_ name: String) -> String { "\(arch).\(name)" }
    func has(_ name: String) -> Bool { file.metadata[key(name)] != nil }

    /// A required count in 1...limit.
    func count(_ name: String, limit: Int) throws -> Int {
        guard file.metadata[key(name)] != nil else { throw GGUFError(.missingKey, "missing \(key(name))") }
        return try bounded(name, try file.int(key(name)), limit: limit)
    }

    /// An optional count in 1...limit (nil when absent).
    func optionalCount(_ name: String, limit: Int) throws -> Int? {
        guard file.metadata[key(name)] != nil else { return nil }
        return try bounded(name, try file.int(key(name)), limit: limit)
    }

    func float(_ name: String) throws -> Float? {
        guard file.metadata[key(name)] != nil else { return nil }
        let v = Float(try file.float(key(name)))
        guard v.isFinite else { throw HyperParameterError(key: key(name), "is not a finite number") }
        return v
    }

    func string(_ name: String) -> String? { file.metadata[key(name)]?.string }

    private func bounded(_ name: String, _ v: Int, limit: Int) throws -> Int {
        guard v > 0 && v <= limit else { throw HyperParameterError(key: key(name), "is \(v), expected 1...\(limit)") }
        return v
    }
}

/// A hyper-parameter that cannot be right, named by its key.
public struct HyperParameterError: Error, CustomStringConvertible, Equatable {
    public let key: String
    public let problem: String
    init(key: String, _ problem: String) {
        self.key = key
        self.problem = problem
    }
    public var description: String { "implausible hyper-parameter \(key): \(problem)" }
}

/// Which pairs RoPE rotates: adjacent (llama.cpp's converter permuted Llama's q/k for this) or the
/// two halves of the rotated dimensions (GPT-NeoX, Qwen, Gemma).
public enum RopeLayout: String, Sendable, Equatable { case normal, neox }

/// RoPE's frequency schedule for one layer, as ggml's rope cache builds it.
public struct RopeSchedule: Sendable, Equatable {
    public var base: Float
    /// Linear position interpolation (1 / rope.scaling.factor); 1 = none.
    public var frequencyScale: Float = 1
    /// YaRN's extrapolation mix (1 with `rope.scaling.type = yarn`, else 0) and its parameters.
    public var yarnExtFactor: Float = 0
    public var yarnAttnFactor: Float = 1
    public var yarnBetaFast: Float = 32
    public var yarnBetaSlow: Float = 1
    public var originalContext: Int = 0
}

/// The gated MLP's activation: SiLU (SwiGLU) or GELU, tanh form (GeGLU).
public enum GatedActivation: String, Sendable, Equatable { case silu, gelu }

/// Everything the forward pass needs to know about an architecture's numbers.
public struct TransformerConfig: Sendable, Equatable {
    public var architecture: String
    public var vocabularySize: Int
    public var embeddingLength: Int          // dim
    public var feedForwardLength: Int        // hidden dim of the MLP
    public var blockCount: Int
    public var headCount: Int
    public var headCountKV: Int
    public var headDim: Int                  // attention.key_length (= value_length)
    public var contextLength: Int
    public var rmsNormEpsilon: Float = 1e-5
    public var ropeLayout: RopeLayout = .normal
    public var ropeDimensions: Int           // rope.dimension_count, at most headDim
    public var rope: RopeSchedule
    /// Per layer: its RoPE schedule when it differs from `rope` (Gemma 3's local layers).
    public var slidingRope: RopeSchedule?
    /// Sliding-window attention: the window, and which layers use it.
    public var slidingWindow: Int = 0
    public var slidingLayers: [Bool] = []
    /// Gemma 2's attention logit soft-cap (0: none) and final logit soft-cap (0: none).
    public var attentionSoftCap: Float = 0
    public var finalSoftCap: Float = 0
    /// Q is multiplied by this before attention (Gemma); the scores by `scoreScale` in the softmax.
    public var queryScale: Float = 1
    public var scoreScale: Float
    /// The token embedding is multiplied by this (Gemma: sqrt(dim)); 1 = none.
    public var embeddingScale: Float = 1
    public var activation: GatedActivation = .silu
    /// LoRA's q/k rows are permuted where llama.cpp's converter permuted the weights (Llama only).
    public var permutedQK = false

    public var qDim: Int { headCount * headDim }
    public var kvDim: Int { headDim * headCountKV }

    func isSliding(_ layer: Int) -> Bool { slidingWindow > 0 && layer < slidingLayers.count && slidingLayers[layer] }
    func ropeSchedule(_ layer: Int) -> RopeSchedule { isSliding(layer) ? (slidingRope ?? rope) : rope }

    /// The common keys every architecture here has, with llama.cpp's defaults.
    init(_ hp: HyperParameters, ropeLayout: RopeLayout) throws {
        architecture = hp.arch
        embeddingLength = try hp.count("embedding_length", limit: 1 << 16)
        feedForwardLength = try hp.count("feed_forward_length", limit: 1 << 18)
        blockCount = try hp.count("block_count", limit: 1024)
        headCount = try hp.count("attention.head_count", limit: 1024)
        headCountKV = try hp.optionalCount("attention.head_count_kv", limit: 1024) ?? headCount
        // The trained context: bounded here, capped to memory where a cache is made.
        contextLength = try hp.optionalCount("context_length", limit: 1 << 24) ?? 2048
        guard embeddingLength % headCount == 0 || hp.has("attention.key_length") else {
            throw HyperParameterError(key: hp.key("attention.head_count"), "\(headCount) does not divide embedding_length \(embeddingLength)")
        }
        headDim = try hp.optionalCount("attention.key_length", limit: 256) ?? embeddingLength / headCount
        if let v = try hp.optionalCount("attention.value_length", limit: 256), v != headDim {
            throw HyperParameterError(key: hp.key("attention.value_length"), "\(v) differs from key_length \(headDim) (not supported)")
        }
        if let eps = try hp.float("attention.layer_norm_rms_epsilon") { rmsNormEpsilon = eps }
        self.ropeLayout = ropeLayout
        ropeDimensions = try hp.optionalCount("rope.dimension_count", limit: 256) ?? headDim
        rope = RopeSchedule(base: try hp.float("rope.freq_base") ?? 10_000)
        rope.originalContext = try hp.optionalCount("rope.scaling.original_context_length", limit: 1 << 24) ?? contextLength
        let scalingType = hp.string("rope.scaling.type") ?? "none"
        let factor = try hp.float("rope.scaling.factor") ?? hp.float("rope.scale_linear") ?? 0
        switch scalingType {
        case "none":
            break
        case "linear":
            if factor > 0 { rope.frequencyScale = 1 / factor }
        case "yarn":
            if factor > 0 { rope.frequencyScale = 1 / factor }
            rope.yarnExtFactor = 1
            if let a = try hp.float("rope.scaling.attn_factor") { rope.yarnAttnFactor = a }
        default:
            throw HyperParameterError(key: hp.key("rope.scaling.type"), "'\(scalingType.prefix(64))' is not supported (none, linear, yarn)")
        }
        if scalingType == "none" && factor > 0 && factor != 1 { rope.frequencyScale = 1 / factor }
        scoreScale = 1 / Float(headDim).squareRoot()
        if let v = try hp.optionalCount("vocab_size", limit: 1 << 22) {
            vocabularySize = v
        } else if let tokens = hp.file.metadata["tokenizer.ggml.tokens"]?.array {
            vocabularySize = tokens.count
        } else {
            throw GGUFError(.missingKey, "missing \(hp.key("vocab_size")) and tokenizer.ggml.tokens")
        }
        try check(hp)
    }

    func check(_ hp: HyperParameters) throws {
        func fail(_ key: String, _ problem: String) -> HyperParameterError { HyperParameterError(key: hp.key(key), problem) }
        guard headCount % headCountKV == 0 else { throw fail("attention.head_count_kv", "\(headCountKV) must divide head_count \(headCount)") }
        guard headDim % 2 == 0 else { throw fail("attention.key_length", "head dimension \(headDim) must be even") }
        guard ropeDimensions % 2 == 0 && ropeDimensions <= headDim else {
            throw fail("rope.dimension_count", "\(ropeDimensions) must be even and at most the head dimension \(headDim)")
        }
        guard vocabularySize > 0 && vocabularySize <= 1 << 22 else { throw fail("vocab_size", "\(vocabularySize)") }
        guard rope.base > 0 else { throw fail("rope.freq_base", "\(rope.base) must be positive") }
    }

    /// Bytes of keys and values per position, over all layers (f16).
    public var kvBytesPerPosition: Int { blockCount * kvDim * 2 * 2 }
}

/// A weight matrix with what comes with it: an optional bias (Qwen2's q/k/v) and the LoRA module
/// that may adapt it.
struct Projection {
    let weight: WeightMatrix                  // (outputs, inputs)
    let bias: UnsafePointer<Float>?           // (outputs,)
    let module: LoRAModule?
    var outputs: Int { weight.rows }
    var inputs: Int { weight.cols }

    /// out[t] += bias for the `rows` tokens.
    func addBias(_ out: UnsafeMutablePointer<Float>, rows: Int) {
        guard let bias else { return }
        for t in 0..<rows {
            let o = out + t * outputs
            for i in 0..<outputs { o[i] += bias[i] }
        }
    }
}

/// The tensors of one file, looked up with located errors.
struct TensorReader {
    let file: GGUFFile

    func has(_ name: String) -> Bool { file.tensor(name) != nil }

    /// An F32 vector of n values.
    func vector(_ name: String, _ n: Int) throws -> UnsafePointer<Float> {
        guard let info = file.tensor(name) else { throw GGUFError(.missingTensor, "missing tensor '\(name)'") }
        guard info.type == .f32, info.elementCount == n else {
            throw GGUFError(.wrongTensorShape, "tensor '\(name)' must be F32 with \(n) values (has \(info.type) \(info.dims))", offset: info.fileOffset)
        }
        guard info.fileOffset % MemoryLayout<Float>.alignment == 0 else {
            throw GGUFError(.badTensorOffset, "tensor '\(name)' is not 4-byte aligned", offset: info.fileOffset)
        }
        return file.data(of: info).assumingMemoryBound(to: Float.self)
    }

    func optionalVector(_ name: String, _ n: Int) throws -> UnsafePointer<Float>? {
        has(name) ? try vector(name, n) : nil
    }

    func matrix(_ name: String, rows: Int, cols: Int) throws -> WeightMatrix {
        try WeightMatrix(file: file, name: name, rows: rows, cols: cols)
    }

    /// `PREFIX.weight` (outputs x inputs) and, when present, `PREFIX.bias` (outputs).
    func projection(_ prefix: String, outputs: Int, inputs: Int, module: LoRAModule?) throws -> Projection {
        Projection(weight: try matrix(prefix + ".weight", rows: outputs, cols: inputs),
                   bias: try optionalVector(prefix + ".bias", outputs), module: module)
    }
}

/// The weights of one decoder block; the optional pieces are present where the architecture has them.
struct TransformerBlock {
    var attentionNorm: UnsafePointer<Float>      // (dim,)
    var wq: Projection                           // (qDim, dim)
    var wk: Projection                           // (kvDim, dim)
    var wv: Projection                           // (kvDim, dim)
    var wo: Projection                           // (dim, qDim)
    var queryNorm: UnsafePointer<Float>?         // (headDim,) QK-norm (Qwen3, Gemma 3)
    var keyNorm: UnsafePointer<Float>?           // (headDim,)
    var postAttentionNorm: UnsafePointer<Float>? // (dim,) Gemma 2/3
    var ffnNorm: UnsafePointer<Float>            // (dim,)
    var wGate: Projection                        // (hidden, dim)
    var wUp: Projection                          // (hidden, dim)
    var wDown: Projection                        // (dim, hidden)
    var postFFNNorm: UnsafePointer<Float>?       // (dim,) Gemma 2/3

    /// The standard names (llama.cpp's `blk.L.*`); architectures add their optional pieces.
    init(_ r: TensorReader, layer l: Int, config c: TransformerConfig) throws {
        let p = "blk.\(l)."
        let dim = c.embeddingLength
        attentionNorm = try r.vector(p + "attn_norm.weight", dim)
        wq = try r.projection(p + "attn_q", outputs: c.qDim, inputs: dim, module: .q)
        wk = try r.projection(p + "attn_k", outputs: c.kvDim, inputs: dim, module: .k)
        wv = try r.projection(p + "attn_v", outputs: c.kvDim, inputs: dim, module: .v)
        wo = try r.projection(p + "attn_output", outputs: dim, inputs: c.qDim, module: .o)
        ffnNorm = try r.vector(p + "ffn_norm.weight", dim)
        wGate = try r.projection(p + "ffn_gate", outputs: c.feedForwardLength, inputs: dim, module: .gate)
        wUp = try r.projection(p + "ffn_up", outputs: c.feedForwardLength, inputs: dim, module: .up)
        wDown = try r.projection(p + "ffn_down", outputs: dim, inputs: c.feedForwardLength, module: .down)
    }
}

/// out[t] = x[t] / sqrt(mean(x[t]^2) + eps) * w, the sum in double as ggml does. In place is fine.
func rmsNorm(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
             rows: Int, dim: Int, eps: Float) {
    for r in 0..<rows {
        let xr = x + r * dim, orow = out + r * dim
        var sum: Double = 0
        for i in 0..<dim { sum += Double(xr[i] * xr[i]) }
        let mean = Float(sum / Double(dim))
        let scale = 1 / (mean + eps).squareRoot()
        for i in 0..<dim { orow[i] = (xr[i] * scale) * w[i] }
    }
}

/// cos/sin of RoPE's angles for `count` positions from pos0: theta_i = p * base^(-2i/n_rot), advanced by
/// repeated multiplication in float as ggml's rope cache does, divided by the frequency factor,
/// interpolated (and YaRN-mixed) as ggml's rope_yarn does.
func fillRope(cos: UnsafeMutablePointer<Float>, sin: UnsafeMutablePointer<Float>, pos0: Int, count: Int,
              dimensions nRot: Int, schedule s: RopeSchedule, frequencyFactors: UnsafePointer<Float>?) {
    let half = nRot / 2
    let thetaScale = powf(s.base, -2 / Float(nRot))
    var low: Float = 0, high: Float = 0
    var mscale = s.yarnAttnFactor
    if s.yarnExtFactor != 0 {
        func corrDim(_ rot: Float) -> Float {
            Float(nRot) * logf(Float(s.originalContext) / (rot * 2 * Float.pi)) / (2 * logf(s.base))
        }
        low = max(0, floorf(corrDim(s.yarnBetaFast)))
        high = min(Float(nRot - 1), ceilf(corrDim(s.yarnBetaSlow)))
        mscale *= 1 + 0.1 * logf(1 / s.frequencyScale)
    }
    for t in 0..<count {
        var theta = Float(pos0 + t)
        for i in 0..<half {
            let extrapolated = theta / (frequencyFactors?[i] ?? 1)
            var angle = s.frequencyScale * extrapolated
            if s.yarnExtFactor != 0 {
                let y = (Float(i) - low) / max(0.001, high - low)
                let mix = (1 - min(1, max(0, y))) * s.yarnExtFactor
                angle = angle * (1 - mix) + extrapolated * mix
            }
            cos[t * half + i] = cosf(angle) * mscale
            sin[t * half + i] = sinf(angle) * mscale
            theta *= thetaScale
        }
    }
}
