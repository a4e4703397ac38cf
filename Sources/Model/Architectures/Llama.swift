/// `llama`: Llama 2, Llama 3 and 3.x (rope scaling as the converter writes it: `rope_freqs.weight`
/// frequency factors, or `rope.scaling.type` linear / yarn), Mistral, SmolLM2. Pre-norm blocks with
/// SwiGLU; llama.cpp's converter permuted q/k so that RoPE rotates adjacent pairs.
enum Llama: Architecture {
    static func config(_ hp: HyperParameters) throws -> TransformerConfig {
        var c = try TransformerConfig(hp, ropeLayout: .normal)
        c.permutedQK = true
        return c
    }
}
