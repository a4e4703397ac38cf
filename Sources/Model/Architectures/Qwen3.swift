/// `qwen3`: Qwen 3 (dense). No q/k/v biases; QK-norm: RMSNorm over each head of q and k before
/// RoPE (NEOX layout); the head size is `attention.key_length`, not embedding / heads.
enum Qwen3: Architecture {
    static func config(_ hp: HyperParameters) throws -> TransformerConfig {
        try TransformerConfig(hp, ropeLayout: .neox)
    }

    static func block(_ r: TensorReader, layer l: Int, config c: TransformerConfig) throws -> TransformerBlock {
        var b = try TransformerBlock(r, layer: l, config: c)
        b.queryNorm = try r.vector("blk.\(l).attn_q_norm.weight", c.headDim)
        b.keyNorm = try r.vector("blk.\(l).attn_k_norm.weight", c.headDim)
        return b
    }
}
