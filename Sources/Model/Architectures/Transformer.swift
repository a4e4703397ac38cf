import CKernels
import Foundation

/// One architecture: how its hyper-parameters are read and which tensors a block has. Each lives
/// in a file of its own beside this one and is registered by `general.architecture` in
/// `ArchitectureRegistry`.
protocol Architecture {
    /// The `ARCH.*` keys read into a config, with llama.cpp's defaults for this architecture.
    static func config(_ hp: HyperParameters) throws -> TransformerConfig
    /// Block `layer`'s tensors: the standard ones (`TransformerBlock.init`) and this
    /// architecture's optional pieces.
    static func block(_ r: TensorReader, layer: Int, config: TransformerConfig) throws -> TransformerBlock
}

extension Architecture {
    static func block(_ r: TensorReader, layer: Int, config: TransformerConfig) throws -> TransformerBlock {
        try TransformerBlock(r, layer: layer, config: config)
    }
}

/// The decoder-only transformer forward pass, in the shape of llama2.c's `forward`: embedding,
/// then per block RMSNorm -> attention with RoPE and a KV cache -> residual, RMSNorm -> gated MLP
/// -> residual, then the final norm and the (possibly tied) output matrix. The pieces an
/// architecture adds (biases, QK-norm, post-norms, soft-caps, sliding windows, scaled embeddings)
/// are in its config and its blocks; a piece that is absent costs nothing.
///
/// Numerics follow llama.cpp's CPU backend so greedy decoding agrees token for token: activations
/// are quantised (Q8_0, Q8_1 or Q8_K per the weight type) before each matrix product, the KV cache
/// is f16, and RoPE angles are built by repeated multiplication as ggml does.
public final class TransformerModel: LanguageModel, @unchecked Sendable {
    public let config: TransformerConfig
    public let file: GGUFFile
    public var architecture: String { config.architecture }
    public var vocabularySize: Int { config.vocabularySize }
    public var trainedContextLength: Int { config.contextLength }
    public var layerCount: Int { config.blockCount }
    public var embeddingLength: Int { config.embeddingLength }

    let tokenEmbedding: WeightMatrix             // (vocab, dim)
    let outputNorm: UnsafePointer<Float>         // (dim,)
    let output: WeightMatrix                     // (vocab, dim), token_embd when tied
    let ropeFrequencyFactors: UnsafePointer<Float>?
    let blocks: [TransformerBlock]
    let pool: WorkerPool

    /// The LoRA adapter applied at run time (nil: none, and the pass is unchanged).
    public private(set) var adapter: LoRAAdapter?
    private var lora: LoRARuntime?

    /// The largest number of tokens evaluated in one batch; longer inputs go in several. 512 is
    /// llama.cpp's default micro-batch, and the split matters: attention sums a batch of one token
    /// in a different order (vec_dot) from a larger one (tinyBLAS), and we follow both.
    public let maxBatch: Int
    private let state: ForwardState

    init<A: Architecture>(_ architecture: A.Type, file: GGUFFile, pool: WorkerPool, maxBatch: Int = 512) throws {
        let arch = try file.string("general.architecture")
        let c = try A.config(HyperParameters(file: file, arch: arch))
        let r = TensorReader(file: file)
        self.file = file
        self.pool = pool
        self.maxBatch = maxBatch
        config = c
        tokenEmbedding = try r.matrix("token_embd.weight", rows: c.vocabularySize, cols: c.embeddingLength)
        outputNorm = try r.vector("output_norm.weight", c.embeddingLength)
        output = r.has("output.weight")
            ? try r.matrix("output.weight", rows: c.vocabularySize, cols: c.embeddingLength)
            : tokenEmbedding
        ropeFrequencyFactors = try r.optionalVector("rope_freqs.weight", c.ropeDimensions / 2)
        blocks = try (0..<c.blockCount).map { try A.block(r, layer: $0, config: c) }
        state = ForwardState(config: c, maxBatch: maxBatch, threads: pool.threads)
    }

    /// Opens `file` with the architecture its `general.architecture` names.
    public static func load(file: GGUFFile, pool: WorkerPool) throws -> TransformerModel {
        guard let model = try ArchitectureRegistry.load(file, pool: pool) as? TransformerModel else {
            throw EngineError.unsupportedArchitecture((try? file.string("general.architecture")) ?? "?")
        }
        return model
    }

    /// Applies `adapter` (checked against this model's shapes) from the next forward pass on, or
    /// removes it with nil. Keys and values already cached were computed without it.
    public func setAdapter(_ adapter: LoRAAdapter?) throws {
        let runtime = try adapter.map { try LoRARuntime(adapter: $0, targets: loraTargets, maxBatch: maxBatch) }
        forwardLock.lock()
        defer { forwardLock.unlock() }
        self.adapter = adapter
        lora = runtime
    }

    /// What a LoRA adapter may adapt: every projection's shape, and whether q/k rows were permuted.
    var loraTargets: LoRATargets {
        let b = blocks[0]
        var shapes: [LoRAModule: (inputs: Int, outputs: Int)] = [:]
        for p in [b.wq, b.wk, b.wv, b.wo, b.wGate, b.wUp, b.wDown] {
            if let m = p.module { shapes[m] = (p.inputs, p.outputs) }
        }
        shapes[.lmHead] = (config.embeddingLength, config.vocabularySize)
        return LoRATargets(architecture: config.architecture, layers: config.blockCount, shapes: shapes,
                           permutedQK: config.permutedQK, headCount: config.headCount, headCountKV: config.headCountKV)
    }

    /// A cache of `capacity` positions; sliding-window layers get a ring of window + batch cells.
    public func makeCache(capacity: Int) -> KVCache {
        let windows = (0..<config.blockCount).map { config.isSliding($0) ? config.slidingWindow : 0 }
        return KVCache(capacity: capacity, width: config.kvDim, windows: windows, maxBatch: maxBatch)
    }

    public func cacheBytes(capacity: Int) -> Int {
        (0..<config.blockCount).reduce(0) { total, l in
            let cells = config.isSliding(l) ? min(capacity, config.slidingWindow + maxBatch) : capacity
            return total + cells * config.kvDim * 2 * 2
        }
    }

    /// One forward pass at a time: the scratch buffers and the logits are shared.
    private let forwardLock = NSLock()

    public func forward(_ tokens: UnsafeBufferPointer<TokenID>, cache: KVCache, hooks: ActivationHooks?) throws -> UnsafeBufferPointer<Float> {
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
            forwardBatch(batch, cache: cache, hooks: hooks, computeLogits: start + n == tokens.count)
            start += n
        }
        return UnsafeBufferPointer(start: state.logits, count: config.vocabularySize)
    }

    // MARK: The forward pass

    private func forwardBatch(_ tokens: UnsafeBufferPointer<TokenID>, cache: KVCache, hooks: ActivationHooks?, computeLogits: Bool) {
        let c = config, s = state
        let n = tokens.count, dim = c.embeddingLength, qDim = c.qDim, kvDim = c.kvDim, hidden = c.feedForwardLength
        let hd = c.headDim, nRot = c.ropeDimensions, eps = c.rmsNormEpsilon
        let pos0 = cache.count
        s.ensureAttentionScratch(contextLength: cache.capacity)
        fillRope(cos: s.ropeCos, sin: s.ropeSin, pos0: pos0, count: n, dimensions: nRot,
                 schedule: c.rope, frequencyFactors: ropeFrequencyFactors)
        if let local = c.slidingRope {
            fillRope(cos: s.slidingRopeCos, sin: s.slidingRopeSin, pos0: pos0, count: n, dimensions: nRot,
                     schedule: local, frequencyFactors: ropeFrequencyFactors)
        }

        // x[t] = token_embd[tokens[t]] (* embedding scale)                x: (n, dim)
        for t in 0..<n {
            tokenEmbedding.dequantizeRow(Int(tokens[t]), into: s.x + t * dim)
        }
        if c.embeddingScale != 1 { scale(s.x, n * dim, c.embeddingScale) }

        let hooks = hooks.flatMap { $0.isEmpty ? nil : $0 }
        let lora = self.lora
        // y += scale * B (A x) for an adapted matrix of this layer (LoRA; nothing when not adapted).
        func adapt(_ l: Int, _ p: Projection, _ input: UnsafeMutablePointer<Float>, _ out: UnsafeMutablePointer<Float>) {
            if let module = p.module, let m = lora?.matrix(layer: l, module) { lora!.apply(m, input, rows: n, out, pool: pool) }
        }
        let neox: Int32 = c.ropeLayout == .neox ? 1 : 0
        for (l, b) in blocks.enumerated() {
            let hooked = hooks?.has(layer: l) == true
            let sliding = c.isSliding(l)
            if hooked { hooks!.visit(.residPre(l), s.x, rows: n, width: dim, firstPosition: pos0) }
            // --- attention ---
            rmsNorm(s.xb, s.x, b.attentionNorm, rows: n, dim: dim, eps: eps)
            // Wq (qDim, dim) @ xb (n, dim) -> q (n, qDim); Wk, Wv (kvDim, dim) @ xb -> k, v (n, kvDim)
            project(s.xb, rows: n, cols: dim, b.wq.weight, s.q, b.wk.weight, s.k, b.wv.weight, s.v)
            // biases (Qwen2): q += bq, k += bk, v += bv
            b.wq.addBias(s.q, rows: n); b.wk.addBias(s.k, rows: n); b.wv.addBias(s.v, rows: n)
            // LoRA: q += s B (A xb), A (r, dim), B (qDim, r); k, v likewise with B (kvDim, r)
            if lora != nil { adapt(l, b.wq, s.xb, s.q); adapt(l, b.wk, s.xb, s.k); adapt(l, b.wv, s.xb, s.v) }
            // QK-norm (Qwen3, Gemma 3): RMSNorm over each head's hd values    q: (n * heads, hd)
            if let w = b.queryNorm { rmsNorm(s.q, s.q, w, rows: n * c.headCount, dim: hd, eps: eps) }
            if let w = b.keyNorm { rmsNorm(s.k, s.k, w, rows: n * c.headCountKV, dim: hd, eps: eps) }
            let cosT = sliding && c.slidingRope != nil ? s.slidingRopeCos : s.ropeCos
            let sinT = sliding && c.slidingRope != nil ? s.slidingRopeSin : s.ropeSin
            for t in 0..<n {
                ck_rope_ext(s.q + t * qDim, Int32(c.headCount), Int32(hd), Int32(nRot), neox, cosT + t * nRot / 2, sinT + t * nRot / 2)
                ck_rope_ext(s.k + t * kvDim, Int32(c.headCountKV), Int32(hd), Int32(nRot), neox, cosT + t * nRot / 2, sinT + t * nRot / 2)
            }
            // Gemma scales Q itself (the scores then by 1): q *= query scale
            if c.queryScale != 1 { scale(s.q, n * qDim, c.queryScale) }
            // Append this batch's keys and values to the f16 cache: position p in cell p % cells.
            let kc = cache.keys(layer: l), vc = cache.values(layer: l), cells = cache.cells[l]
            for t in 0..<n {
                let cell = (pos0 + t) % cells
                ck_fp32_to_fp16_row(s.k + t * kvDim, kc + cell * kvDim, Int32(kvDim))
                ck_fp32_to_fp16_row(s.v + t * kvDim, vc + cell * kvDim, Int32(kvDim))
            }
            // softmax(softcap(q k^T) * scale) v, causal (and windowed), per head   att: (n, qDim)
            ck_attention_ext(pool.raw, s.q, kc, vc, s.att, Int32(n), Int32(pos0), Int32(c.headCount),
                             Int32(c.headCountKV), Int32(hd), c.scoreScale, c.attentionSoftCap,
                             Int32(sliding ? c.slidingWindow : 0), Int32(cells), s.attentionScratch)
            // Wo (dim, qDim) @ att (n, qDim) -> xb2 (n, dim)
            project(s.att, rows: n, cols: qDim, b.wo.weight, s.xb2)
            // LoRA: xb2 += s B (A att), A (r, qDim), B (dim, r)
            if lora != nil { adapt(l, b.wo, s.att, s.xb2) }
            // post-attention norm (Gemma): xb2 = rmsnorm(xb2)
            if let w = b.postAttentionNorm { rmsNorm(s.xb2, s.xb2, w, rows: n, dim: dim, eps: eps) }
            if hooked { hooks!.visit(.attnOut(l), s.xb2, rows: n, width: dim, firstPosition: pos0) }
            add(s.x, s.xb2, count: n * dim)

            // --- feed-forward (gated: SwiGLU or GeGLU) ---
            rmsNorm(s.xb, s.x, b.ffnNorm, rows: n, dim: dim, eps: eps)
            // Wgate, Wup (hidden, dim) @ xb (n, dim) -> hb, hb2 (n, hidden)
            project(s.xb, rows: n, cols: dim, b.wGate.weight, s.hb, b.wUp.weight, s.hb2)
            // LoRA: hb, hb2 += s B (A xb), A (r, dim), B (hidden, r)
            if lora != nil { adapt(l, b.wGate, s.xb, s.hb); adapt(l, b.wUp, s.xb, s.hb2) }
            // hb = act(hb) * hb2
            switch c.activation {
            case .silu: ck_swiglu(s.hb, s.hb2, Int32(n * hidden))
            case .gelu: ck_geglu(s.hb, s.hb2, Int32(n * hidden))
            }
            // Wdown (dim, hidden) @ hb (n, hidden) -> xb2 (n, dim)
            project(s.hb, rows: n, cols: hidden, b.wDown.weight, s.xb2)
            // LoRA: xb2 += s B (A hb), A (r, hidden), B (dim, r)
            if lora != nil { adapt(l, b.wDown, s.hb, s.xb2) }
            // post-FFN norm (Gemma): xb2 = rmsnorm(xb2)
            if let w = b.postFFNNorm { rmsNorm(s.xb2, s.xb2, w, rows: n, dim: dim, eps: eps) }
            if hooked { hooks!.visit(.mlpOut(l), s.xb2, rows: n, width: dim, firstPosition: pos0) }
            add(s.x, s.xb2, count: n * dim)
            if hooked { hooks!.visit(.residPost(l), s.x, rows: n, width: dim, firstPosition: pos0) }
        }
        cache.count = pos0 + n

        if computeLogits {
            // Only the last position's logits: prefill never pays for the others.
            rmsNorm(s.xb, s.x + (n - 1) * dim, outputNorm, rows: 1, dim: dim, eps: eps)
            // Wout (vocab, dim) @ xb (dim,) -> logits (vocab,)
            project(s.xb, rows: 1, cols: dim, output, s.logits)
            // LoRA on lm_head: logits += s B (A xb), A (r, dim), B (vocab, r)
            if let m = lora?.output { lora!.apply(m, s.xb, rows: 1, s.logits, pool: pool) }
            // Gemma 2's final soft-cap: logits = tanh(logits / cap) * cap
            if c.finalSoftCap != 0 { ck_softcap(s.logits, Int32(c.vocabularySize), c.finalSoftCap) }
        }
    }

    // MARK: Pieces

    private func add(_ x: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { x[i] += y[i] }
    }

    private func scale(_ x: UnsafeMutablePointer<Float>, _ count: Int, _ a: Float) {
        for i in 0..<count { x[i] *= a }
    }

    /// Up to three products sharing one input: out_j (rows, W_j.rows) = x (rows, cols) @ W_j^T.
    /// The input is quantised once per activation format and all products go to the pool in one
    /// dispatch, so q/k/v and gate/up cost one synchronisation each.
    private func project(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int,
                         _ w0: WeightMatrix, _ o0: UnsafeMutablePointer<Float>,
                         _ w1: WeightMatrix? = nil, _ o1: UnsafeMutablePointer<Float>? = nil,
                         _ w2: WeightMatrix? = nil, _ o2: UnsafeMutablePointer<Float>? = nil) {
        let s = state
        // Tuples, not arrays: decoding allocates nothing per token.
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
    let ropeCos, ropeSin, slidingRopeCos, slidingRopeSin: UnsafeMutablePointer<Float>
    let quantized: UnsafeMutableRawPointer
    let jobs: UnsafeMutablePointer<ck_matmul_job>
    private(set) var attentionScratch: UnsafeMutablePointer<Float>
    private var attentionScratchLength: Int
    private let threads: Int
    private var allocations: [UnsafeMutablePointer<Float>] = []

    init(config c: TransformerConfig, maxBatch: Int, threads: Int) {
        var all: [UnsafeMutablePointer<Float>] = []
        func buffer(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
            p.initialize(repeating: 0, count: max(n, 1))
            all.append(p)
            return p
        }
        let dim = c.embeddingLength, hidden = c.feedForwardLength
        x = buffer(maxBatch * dim)
        xb = buffer(maxBatch * dim)
        xb2 = buffer(maxBatch * dim)
        q = buffer(maxBatch * c.qDim)
        k = buffer(maxBatch * c.kvDim)
        v = buffer(maxBatch * c.kvDim)
        att = buffer(maxBatch * c.qDim)
        hb = buffer(maxBatch * hidden)
        hb2 = buffer(maxBatch * hidden)
        logits = buffer(c.vocabularySize)
        ropeCos = buffer(maxBatch * c.ropeDimensions / 2)
        ropeSin = buffer(maxBatch * c.ropeDimensions / 2)
        let local = c.slidingRope == nil ? 0 : maxBatch * c.ropeDimensions / 2
        slidingRopeCos = buffer(local)
        slidingRopeSin = buffer(local)
        // Widest quantised row: the widest input in the widest activation format (Q8_K: 292 bytes
        // per 256 values; Q8_1: 36 per 32), or f32 (4 bytes per value).
        let widest = max(dim, hidden, c.qDim)
        quantized = .allocate(byteCount: maxBatch * (widest * 4 + 512), alignment: 64)
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
}
