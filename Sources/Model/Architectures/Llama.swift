import CKernels
import Foundation

/// Hyper-parameters of a Llama-architecture model, read from GGUF metadata (`llama.*`), with the
/// defaults llama.cpp uses when a key is absent.
public struct LlamaConfig: Codable, Sendable, Equatable {
    public var vocabularySize: Int
    public var embeddingLength: Int          // dim
    public var feedForwardLength: Int        // hidden dim of the MLP
    public var blockCount: Int
    public var headCount: Int
    public var headCountKV: Int
    public var contextLength: Int
    public var ropeFreqBase: Float = 10_000
    public var rmsNormEpsilon: Float = 1e-5
    public var ropeDimensionCount: Int

    public var headDim: Int { embeddingLength / headCount }
    public var kvDim: Int { headDim * headCountKV }

    public init(file: GGUFFile, prefix: String = "llama") throws {
        embeddingLength = try file.int("\(prefix).embedding_length")
        feedForwardLength = try file.int("\(prefix).feed_forward_length")
        blockCount = try file.int("\(prefix).block_count")
        headCount = try file.int("\(prefix).attention.head_count")
        headCountKV = (try? file.int("\(prefix).attention.head_count_kv")) ?? headCount
        contextLength = (try? file.int("\(prefix).context_length")) ?? 2048
        if let base = try? file.float("\(prefix).rope.freq_base") { ropeFreqBase = Float(base) }
        if let eps = try? file.float("\(prefix).attention.layer_norm_rms_epsilon") { rmsNormEpsilon = Float(eps) }
        ropeDimensionCount = (try? file.int("\(prefix).rope.dimension_count")) ?? (embeddingLength / max(headCount, 1))
        if let v = try? file.int("\(prefix).vocab_size") {
            vocabularySize = v
        } else if let tokens = file.metadata["tokenizer.ggml.tokens"]?.array {
            vocabularySize = tokens.count
        } else {
            throw GGUFError(.missingKey, "missing \(prefix).vocab_size and tokenizer.ggml.tokens")
        }
        try validate()
    }

    func validate() throws {
        func check(_ ok: Bool, _ what: String) throws {
            if !ok { throw GGUFError(.wrongKeyType, "implausible hyper-parameter: \(what)") }
        }
        try check(embeddingLength > 0 && embeddingLength <= 65_536, "embedding_length \(embeddingLength)")
        try check(feedForwardLength > 0 && feedForwardLength <= 1 << 20, "feed_forward_length \(feedForwardLength)")
        try check(blockCount > 0 && blockCount <= 1024, "block_count \(blockCount)")
        try check(headCount > 0 && embeddingLength % headCount == 0, "head_count \(headCount) must divide embedding_length \(embeddingLength)")
        try check(headCountKV > 0 && headCount % headCountKV == 0, "head_count_kv \(headCountKV) must divide head_count \(headCount)")
        try check(headDim % 2 == 0 && headDim <= 256, "head dimension \(headDim) (even, at most 256)")
        try check(ropeDimensionCount == headDim, "rope.dimension_count \(ropeDimensionCount) differs from the head dimension \(headDim) (partial RoPE is not supported)")
        try check(contextLength > 0, "context_length \(contextLength)")
        try check(vocabularySize > 0 && vocabularySize <= 1 << 22, "vocab_size \(vocabularySize)")
        try check(ropeFreqBase > 0, "rope.freq_base \(ropeFreqBase)")
    }
}

/// The Llama forward pass (also SmolLM2, Mistral-style GQA models), in the shape of llama2.c's
/// `forward`: embedding, then per block RMSNorm -> attention with RoPE and a KV cache -> residual,
/// RMSNorm -> SwiGLU MLP -> residual, then the final norm and the (possibly tied) output matrix.
///
/// Numerics follow llama.cpp's CPU backend so greedy decoding agrees token for token: activations
/// are quantised per 32 values (Q8_1 for Q4_1 weights, Q8_0 for Q8_0/Q4_0) before each matrix
/// product, the KV cache is f16, and RoPE angles are built by repeated multiplication as ggml does.
public final class LlamaModel: LanguageModel, @unchecked Sendable {
    public let config: LlamaConfig
    public let file: GGUFFile
    public var architecture: String { "llama" }
    public var vocabularySize: Int { config.vocabularySize }
    public var trainedContextLength: Int { config.contextLength }
    public var layerCount: Int { config.blockCount }
    public var embeddingLength: Int { config.embeddingLength }

    struct Block {
        var attentionNorm: UnsafePointer<Float>  // (dim,)
        var wq: WeightMatrix                     // (dim, dim)
        var wk: WeightMatrix                     // (kvDim, dim)
        var wv: WeightMatrix                     // (kvDim, dim)
        var wo: WeightMatrix                     // (dim, dim)
        var ffnNorm: UnsafePointer<Float>        // (dim,)
        var wGate: WeightMatrix                  // (hidden, dim)
        var wUp: WeightMatrix                    // (hidden, dim)
        var wDown: WeightMatrix                  // (dim, hidden)
    }

    let tokenEmbedding: WeightMatrix             // (vocab, dim)
    let outputNorm: UnsafePointer<Float>         // (dim,)
    let output: WeightMatrix                     // (vocab, dim), token_embd when tied
    let ropeFrequencyFactors: UnsafePointer<Float>?
    let blocks: [Block]
    let pool: WorkerPool

    /// Read or change activations at named points during the forward pass (nil: no cost).
    public var hooks: ActivationHooks?

    /// The LoRA adapter applied at run time (nil: none, and the pass is unchanged).
    public private(set) var adapter: LoRAAdapter?
    private var lora: LoRARuntime?

    /// The largest number of tokens evaluated in one batch; longer inputs go in several. 512 is
    /// llama.cpp's default micro-batch, and the split matters: attention sums a batch of one token
    /// in a different order (vec_dot) from a larger one (tinyBLAS), and we follow both.
    public let maxBatch: Int
    private let state: ForwardState

    public init(file: GGUFFile, pool: WorkerPool, maxBatch: Int = 512) throws {
        self.file = file
        self.pool = pool
        self.maxBatch = maxBatch
        let c = try LlamaConfig(file: file)
        config = c

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
        func matrix(_ name: String, rows: Int, cols: Int) throws -> WeightMatrix {
            try WeightMatrix(file: file, name: name, rows: rows, cols: cols)
        }

        tokenEmbedding = try matrix("token_embd.weight", rows: c.vocabularySize, cols: c.embeddingLength)
        outputNorm = try vector("output_norm.weight", c.embeddingLength)
        output = file.tensor("output.weight") == nil
            ? tokenEmbedding
            : try matrix("output.weight", rows: c.vocabularySize, cols: c.embeddingLength)
        ropeFrequencyFactors = file.tensor("rope_freqs.weight") == nil ? nil : try vector("rope_freqs.weight", c.headDim / 2)
        var blocks: [Block] = []
        for l in 0..<c.blockCount {
            let p = "blk.\(l)."
            blocks.append(Block(
                attentionNorm: try vector(p + "attn_norm.weight", c.embeddingLength),
                wq: try matrix(p + "attn_q.weight", rows: c.embeddingLength, cols: c.embeddingLength),
                wk: try matrix(p + "attn_k.weight", rows: c.kvDim, cols: c.embeddingLength),
                wv: try matrix(p + "attn_v.weight", rows: c.kvDim, cols: c.embeddingLength),
                wo: try matrix(p + "attn_output.weight", rows: c.embeddingLength, cols: c.embeddingLength),
                ffnNorm: try vector(p + "ffn_norm.weight", c.embeddingLength),
                wGate: try matrix(p + "ffn_gate.weight", rows: c.feedForwardLength, cols: c.embeddingLength),
                wUp: try matrix(p + "ffn_up.weight", rows: c.feedForwardLength, cols: c.embeddingLength),
                wDown: try matrix(p + "ffn_down.weight", rows: c.embeddingLength, cols: c.feedForwardLength)
            ))
        }
        self.blocks = blocks
        state = ForwardState(config: c, maxBatch: maxBatch, threads: pool.threads)
    }

    /// Applies `adapter` (checked against this model's shapes) from the next forward pass on, or
    /// removes it with nil. Keys and values already cached were computed without it.
    public func setAdapter(_ adapter: LoRAAdapter?) throws {
        let runtime = try adapter.map { try LoRARuntime(adapter: $0, config: config, maxBatch: maxBatch) }
        forwardLock.lock()
        defer { forwardLock.unlock() }
        self.adapter = adapter
        lora = runtime
    }

    public func makeCache(capacity: Int) -> KVCache {
        KVCache(layers: config.blockCount, capacity: capacity, width: config.kvDim)
    }

    /// One forward pass at a time: the scratch buffers and the logits are shared.
    private let forwardLock = NSLock()

    public func forward(_ tokens: UnsafeBufferPointer<TokenID>, cache: KVCache) throws -> UnsafeBufferPointer<Float> {
        forwardLock.lock()
        defer { forwardLock.unlock() }
        guard !tokens.isEmpty else { throw EngineError.emptyInput }
        guard cache.count + tokens.count <= cache.capacity else {
            throw EngineError.contextOverflow(needed: cache.count + tokens.count, limit: cache.capacity)
        }
        for id in tokens where id < 0 || Int(id) >= config.vocabularySize {
            throw EngineError.tokenOutOfRange(id, vocabularySize: config.vocabularySize)
        }
        var start = 0
        while start < tokens.count {
            let n = min(maxBatch, tokens.count - start)
            let batch = UnsafeBufferPointer(rebasing: tokens[start..<(start + n)])
            forwardBatch(batch, cache: cache, computeLogits: start + n == tokens.count)
            start += n
        }
        return UnsafeBufferPointer(start: state.logits, count: config.vocabularySize)
    }

    // MARK: The forward pass

    private func forwardBatch(_ tokens: UnsafeBufferPointer<TokenID>, cache: KVCache, computeLogits: Bool) {
        let c = config, s = state
        let n = tokens.count, dim = c.embeddingLength, kvDim = c.kvDim, hidden = c.feedForwardLength
        let pos0 = cache.count
        s.ensureAttentionScratch(contextLength: cache.capacity)
        s.fillRope(pos0: pos0, count: n, config: c, frequencyFactors: ropeFrequencyFactors)

        // x[t] = token_embd[tokens[t]]                                   x: (n, dim)
        for t in 0..<n {
            tokenEmbedding.dequantizeRow(Int(tokens[t]), into: s.x + t * dim)
        }

        let hooks = self.hooks.flatMap { $0.isEmpty ? nil : $0 }
        let lora = self.lora
        // y += scale * B (A x) for an adapted matrix of this layer (LoRA; nothing when not adapted).
        func adapt(_ l: Int, _ module: LoRAModule, _ input: UnsafeMutablePointer<Float>, _ out: UnsafeMutablePointer<Float>) {
            if let m = lora?.matrix(layer: l, module) { lora!.apply(m, input, rows: n, out, pool: pool) }
        }
        for (l, b) in blocks.enumerated() {
            let hooked = hooks?.has(layer: l) == true
            if hooked { hooks!.visit(.residPre(l), s.x, rows: n, width: dim, firstPosition: pos0) }
            // --- attention ---
            rmsNorm(s.xb, s.x, b.attentionNorm, rows: n, dim: dim)
            // Wq (dim, dim) @ xb (n, dim) -> q (n, dim); Wk, Wv (kvDim, dim) @ xb -> k, v (n, kvDim)
            project(s.xb, rows: n, cols: dim, b.wq, s.q, b.wk, s.k, b.wv, s.v)
            // LoRA: q += s B (A xb), A (r, dim), B (dim, r); k, v likewise with B (kvDim, r)
            if lora != nil { adapt(l, .q, s.xb, s.q); adapt(l, .k, s.xb, s.k); adapt(l, .v, s.xb, s.v) }
            for t in 0..<n {
                applyRope(s.q + t * dim, heads: c.headCount, position: t)
                applyRope(s.k + t * kvDim, heads: c.headCountKV, position: t)
            }
            // Append this batch's keys and values to the f16 cache at positions pos0..<pos0+n.
            let kc = cache.keys(layer: l), vc = cache.values(layer: l)
            ck_fp32_to_fp16_row(s.k, kc + pos0 * kvDim, Int32(n * kvDim))
            ck_fp32_to_fp16_row(s.v, vc + pos0 * kvDim, Int32(n * kvDim))
            // softmax(q k^T / sqrt(hd)) v, causal, per head                 att: (n, dim)
            ck_attention(pool.raw, s.q, kc, vc, s.att, Int32(n), Int32(pos0), Int32(c.headCount),
                         Int32(c.headCountKV), Int32(c.headDim), 1 / Float(c.headDim).squareRoot(), s.attentionScratch)
            // Wo (dim, dim) @ att (n, dim) -> xb2 (n, dim); x += xb2
            project(s.att, rows: n, cols: dim, b.wo, s.xb2)
            // LoRA: xb2 += s B (A att), A (r, dim), B (dim, r)
            if lora != nil { adapt(l, .o, s.att, s.xb2) }
            if hooked { hooks!.visit(.attnOut(l), s.xb2, rows: n, width: dim, firstPosition: pos0) }
            add(s.x, s.xb2, count: n * dim)

            // --- feed-forward (SwiGLU) ---
            rmsNorm(s.xb, s.x, b.ffnNorm, rows: n, dim: dim)
            // Wgate, Wup (hidden, dim) @ xb (n, dim) -> hb, hb2 (n, hidden)
            project(s.xb, rows: n, cols: dim, b.wGate, s.hb, b.wUp, s.hb2)
            // LoRA: hb, hb2 += s B (A xb), A (r, dim), B (hidden, r)
            if lora != nil { adapt(l, .gate, s.xb, s.hb); adapt(l, .up, s.xb, s.hb2) }
            ck_swiglu(s.hb, s.hb2, Int32(n * hidden))
            // Wdown (dim, hidden) @ hb (n, hidden) -> xb2 (n, dim); x += xb2
            project(s.hb, rows: n, cols: hidden, b.wDown, s.xb2)
            // LoRA: xb2 += s B (A hb), A (r, hidden), B (dim, r)
            if lora != nil { adapt(l, .down, s.hb, s.xb2) }
            if hooked { hooks!.visit(.mlpOut(l), s.xb2, rows: n, width: dim, firstPosition: pos0) }
            add(s.x, s.xb2, count: n * dim)
            if hooked { hooks!.visit(.residPost(l), s.x, rows: n, width: dim, firstPosition: pos0) }
        }
        cache.count = pos0 + n

        if computeLogits {
            // Only the last position's logits: prefill never pays for the others.
            rmsNorm(s.xb, s.x + (n - 1) * dim, outputNorm, rows: 1, dim: dim)
            // Wout (vocab, dim) @ xb (dim,) -> logits (vocab,)
            project(s.xb, rows: 1, cols: dim, output, s.logits)
            // LoRA on lm_head: logits += s B (A xb), A (r, dim), B (vocab, r)
            if let m = lora?.output { lora!.apply(m, s.xb, rows: 1, s.logits, pool: pool) }
        }
    }

    // MARK: Pieces

    /// out[t] = x[t] / sqrt(mean(x[t]^2) + eps) * w, the sum in double as ggml does.
    private func rmsNorm(_ out: UnsafeMutablePointer<Float>, _ x: UnsafeMutablePointer<Float>,
                         _ w: UnsafePointer<Float>, rows: Int, dim: Int) {
        for r in 0..<rows {
            let xr = x + r * dim, orow = out + r * dim
            var sum: Double = 0
            for i in 0..<dim { sum += Double(xr[i] * xr[i]) }
            let mean = Float(sum / Double(dim))
            let scale = 1 / (mean + config.rmsNormEpsilon).squareRoot()
            for i in 0..<dim { orow[i] = (xr[i] * scale) * w[i] }
        }
    }

    /// Rotates adjacent pairs (x[2i], x[2i+1]) of every head by the angles of batch position `position`
    /// (llama.cpp's converter permutes Q/K so that pairs are adjacent: "normal" RoPE).
    private func applyRope(_ v: UnsafeMutablePointer<Float>, heads: Int, position: Int) {
        let hd = config.headDim, half = hd / 2
        // ggml's rounding: each rotated component is one fma (see ck_rope).
        ck_rope(v, Int32(heads), Int32(hd), state.ropeCos + position * half, state.ropeSin + position * half)
    }

    private func add(_ x: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { x[i] += y[i] }
    }

    /// Up to three products sharing one input: out_j (rows, W_j.rows) = x (rows, cols) @ W_j^T.
    /// The input is quantised once per activation format and all products go to the pool in one
    /// dispatch, so q/k/v and gate/up cost one synchronisation each.
    private func project(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int,
                         _ w0: WeightMatrix, _ o0: UnsafeMutablePointer<Float>,
                         _ w1: WeightMatrix? = nil, _ o1: UnsafeMutablePointer<Float>? = nil,
                         _ w2: WeightMatrix? = nil, _ o2: UnsafeMutablePointer<Float>? = nil) {
        let s = state
        let weights = (w0, w1, w2)
        let outs = (o0, o1, o2)
        var done = (false, w1 == nil, w2 == nil)
        while !(done.0 && done.1 && done.2) {
            let format = !done.0 ? w0.activationType : !done.1 ? w1!.activationType : w2!.activationType
            var count = 0
            if !done.0, weights.0.activationType == format {
                s.setJob(count, weights.0, outs.0)
                count += 1
                done.0 = true
            }
            if !done.1, let w = weights.1, let o = outs.1, w.activationType == format {
                s.setJob(count, w, o)
                count += 1
                done.1 = true
            }
            if !done.2, let w = weights.2, let o = outs.2, w.activationType == format {
                s.setJob(count, w, o)
                count += 1
                done.2 = true
            }
            let input: UnsafeRawPointer
            let stride: Int
            if format == Int32(GGMLType.f32.rawValue) {
                input = UnsafeRawPointer(x)
                stride = cols * MemoryLayout<Float>.size
            } else {
                stride = Int(ck_row_bytes(format, Int32(cols)))
                for r in 0..<rows {
                    ck_quantize_row(format, x + r * cols, s.quantized + r * stride, Int32(cols))
                }
                input = UnsafeRawPointer(s.quantized)
            }
            ck_matmul(pool.raw, s.jobs, Int32(count), Int32(cols), input, stride, Int32(rows))
        }
    }
}

/// Buffers of one forward pass, allocated once so decoding allocates nothing per token.
final class ForwardState {
    let x, xb, xb2, q, k, v, att, hb, hb2, logits: UnsafeMutablePointer<Float>
    let ropeCos, ropeSin: UnsafeMutablePointer<Float>
    let quantized: UnsafeMutableRawPointer
    let jobs: UnsafeMutablePointer<ck_matmul_job>
    private(set) var attentionScratch: UnsafeMutablePointer<Float>
    private var attentionScratchLength: Int
    private let threads: Int
    private var allocations: [UnsafeMutablePointer<Float>] = []

    init(config c: LlamaConfig, maxBatch: Int, threads: Int) {
        var all: [UnsafeMutablePointer<Float>] = []
        func buffer(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: n)
            p.initialize(repeating: 0, count: n)
            all.append(p)
            return p
        }
        let dim = c.embeddingLength, hidden = c.feedForwardLength
        x = buffer(maxBatch * dim)
        xb = buffer(maxBatch * dim)
        xb2 = buffer(maxBatch * dim)
        q = buffer(maxBatch * dim)
        k = buffer(maxBatch * c.kvDim)
        v = buffer(maxBatch * c.kvDim)
        att = buffer(maxBatch * dim)
        hb = buffer(maxBatch * hidden)
        hb2 = buffer(maxBatch * hidden)
        logits = buffer(c.vocabularySize)
        ropeCos = buffer(maxBatch * c.headDim / 2)
        ropeSin = buffer(maxBatch * c.headDim / 2)
        // Widest quantised row: Q8_1 (36 bytes per 32 values) of the widest input.
        let widest = max(dim, hidden)
        quantized = .allocate(byteCount: maxBatch * (widest / 32 + 1) * 36 + 64, alignment: 64)
        jobs = .allocate(capacity: 3)
        self.threads = threads
        attentionScratchLength = 0
        attentionScratch = .allocate(capacity: 1)
        allocations = all
    }

    deinit {
        for p in allocations { p.deallocate() }
        quantized.deallocate()
        jobs.deallocate()
        attentionScratch.deallocate()
    }

    func setJob(_ i: Int, _ m: WeightMatrix, _ out: UnsafeMutablePointer<Float>) {
        jobs[i] = ck_matmul_job(type: Int32(m.type.rawValue), w: m.data, rows: Int32(m.rows), out: out, out_stride: Int32(m.rows))
    }

    func ensureAttentionScratch(contextLength: Int) {
        guard contextLength > attentionScratchLength else { return }
        attentionScratch.deallocate()
        attentionScratch = .allocate(capacity: threads * contextLength)
        attentionScratchLength = contextLength
    }

    /// cos/sin of pos * base^(-2i/hd) for the batch positions, with theta advanced by repeated
    /// multiplication in float exactly as ggml's rope cache does.
    func fillRope(pos0: Int, count: Int, config c: LlamaConfig, frequencyFactors: UnsafePointer<Float>?) {
        let half = c.headDim / 2
        let thetaScale = powf(c.ropeFreqBase, -2 / Float(c.ropeDimensionCount))
        for t in 0..<count {
            var theta = Float(pos0 + t)
            for i in 0..<half {
                let factor = frequencyFactors?[i] ?? 1
                let angle = theta / factor
                ropeCos[t * half + i] = cosf(angle)
                ropeSin[t * half + i] = sinf(angle)
                theta *= thetaScale
            }
        }
    }
}
