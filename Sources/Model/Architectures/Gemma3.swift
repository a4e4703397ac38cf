/// `gemma3`: Gemma 2's block without soft-caps and with QK-norm; five of every six layers (all but
/// layer 6k+5) attend through a sliding window (`attention.sliding_window`) and take RoPE with base
/// 10000 (`rope.freq_base_swa` when the file has it) and no scaling; the global layers take
/// `rope.freq_base` and the file's rope scaling. Q scaled by 1/sqrt(head size) (1/sqrt(dim/heads)
/// for the 27B, 62 layers). llama.cpp applies a final soft-cap only to files without a window.
enum Gemma3: Architecture {
    static func config(_ hp: HyperParameters) throws -> TransformerConfig {
        var c = try TransformerConfig(hp, ropeLayout: .neox)
        c.slidingWindow = try hp.optionalCount("attention.sliding_window", limit: 1 << 24) ?? 0
        c.slidingLayers = (0..<c.blockCount).map { $0 % 6 < 5 }
        if c.slidingWindow > 0 {
            c.slidingRope = RopeSchedule(base: try hp.float("rope.freq_base_swa") ?? 10_000)
        } else {
            c.finalSoftCap = try hp.float("final_logit_softcapping") ?? 30
        }
        Gemma.scaleQueries(&c, twentySevenB: c.blockCount == 62)
        c.embeddingScale = Float(c.embeddingLength).squareRoot()
        c.activation = .gelu
        return c
    }

    static func block(_ r: TensorReader, layer l: Int, config c: TransformerConfig) throws -> TransformerBlock {
        var b = try Gemma.postNormed(try TransformerBlock(r, layer: l, config: c), r, layer: l, config: c)
        b.queryNorm = try r.vector("blk.\(l).attn_q_norm.weight", c.headDim)
        b.keyNorm = try r.vector("blk.\(l).attn_k_norm.weight", c.headDim)
        return b
    }
}
