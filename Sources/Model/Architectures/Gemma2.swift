/// `gemma2`: embeddings scaled by sqrt(dim); every other layer (the even ones) attends through a
/// sliding window (`attention.sliding_window`, default 4096); attention scores soft-capped
/// (`attn_logit_softcapping`, default 50) and final logits too (`final_logit_softcapping`,
/// default 30); Q scaled by 1/sqrt(head size) before attention (1/sqrt(dim/heads) for the 27B,
/// 46 layers); norms after attention and after the MLP as well as before; GeGLU; NEOX RoPE.
/// The converter already added Gemma's 1 to every norm weight, so norms are plain RMSNorm here.
enum Gemma2: Architecture {
    static func config(_ hp: HyperParameters) throws -> TransformerConfig {
        var c = try TransformerConfig(hp, ropeLayout: .neox)
        c.slidingWindow = try hp.optionalCount("attention.sliding_window", limit: 1 << 24) ?? 4096
        c.slidingLayers = (0..<c.blockCount).map { $0 % 2 == 0 }
        c.attentionSoftCap = try hp.float("attn_logit_softcapping") ?? 50
        c.finalSoftCap = try hp.float("final_logit_softcapping") ?? 30
        Gemma.scaleQueries(&c, twentySevenB: c.blockCount == 46)
        c.embeddingScale = Float(c.embeddingLength).squareRoot()
        c.activation = .gelu
        return c
    }

    static func block(_ r: TensorReader, layer l: Int, config c: TransformerConfig) throws -> TransformerBlock {
        try Gemma.postNormed(try TransformerBlock(r, layer: l, config: c), r, layer: l, config: c)
    }
}

/// What Gemma 2 and 3 share.
enum Gemma {
    /// Q *= 1/sqrt(head size), or 1/sqrt(dim/heads) for the 27B models; the scores are not scaled again.
    static func scaleQueries(_ c: inout TransformerConfig, twentySevenB: Bool) {
        c.queryScale = 1 / Float(twentySevenB ? c.embeddingLength / c.headCount : c.headDim).squareRoot()
        c.scoreScale = 1
    }

    /// The norms after attention and after the MLP.
    static func postNormed(_ block: TransformerBlock, _ r: TensorReader, layer l: Int, config c: TransformerConfig) throws -> TransformerBlock {
        var b = block
        b.postAttentionNorm = try r.vector("blk.\(l).post_attention_norm.weight", c.embeddingLength)
        b.postFFNNorm = try r.vector("blk.\(l).post_ffw_norm.weight", c.embeddingLength)
        return b
    }
}
