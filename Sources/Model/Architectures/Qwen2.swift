/// `qwen2`: Qwen 2 and 2.5. Llama's block with biases on q, k and v (read with the weights, see
/// `TensorReader.projection`) and RoPE on the halves of each head (NEOX layout).
enum Qwen2: Architecture {
    static func config(_ hp: HyperParameters) throws -> TransformerConfig {
        try TransformerConfig(hp, ropeLayout: .neox)
    }
}
