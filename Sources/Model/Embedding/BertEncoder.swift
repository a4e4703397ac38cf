import CKernels
import Foundation

/// A BERT encoder's hyper-parameters, from a Hugging Face `config.json`.
public struct BertConfig: Sendable, Equatable {
    public var hidden: Int
    public var layers: Int
    public var heads: Int
    public var intermediate: Int
    public var maxPositions: Int
    public var typeVocabulary: Int
    public var vocabulary: Int
    public var layerNormEps: Float

    public var headDim: Int { hidden / heads }

    public init(json data: Data) throws {
        guard let o = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw EmbedderError("config.json is not a JSON object")
        }
        func int(_ key: String, _ range: ClosedRange<Int>, default value: Int? = nil) throws -> Int {
            guard let v = o[key] else {
                if let value { return value }
                throw EmbedderError("config.json has no \(key)")
            }
            guard !isJSONBool(v), let n = v as? Int, range.contains(n) else {
                throw EmbedderError("config.json \(key) is \(UntrustedText.excerpt(describing: v)), not \(range.lowerBound)...\(range.upperBound)")
            }
            return n
        }
        let type = o["model_type"] as? String ?? "bert"
        guard type == "bert" else { throw EmbedderError("config.json model_type \(UntrustedText.excerpt(type)) is not supported (only bert)") }
        let act = o["hidden_act"] as? String ?? "gelu"
        guard act == "gelu" else {
            throw EmbedderError("config.json hidden_act \(UntrustedText.excerpt(act)) is not supported (only gelu, the erf form)")
        }
        if let p = o["position_embedding_type"] as? String, p != "absolute" {
            throw EmbedderError("config.json position_embedding_type \(UntrustedText.excerpt(p)) is not supported (only absolute)")
        }
        hidden = try int("hidden_size", 8...8192)
        layers = try int("num_hidden_layers", 1...128)
        heads = try int("num_attention_heads", 1...256)
        intermediate = try int("intermediate_size", 8...65536)
        maxPositions = try int("max_position_embeddings", 1...65536)
        typeVocabulary = try int("type_vocab_size", 1...1024, default: 2)
        vocabulary = try int("vocab_size", 1...2_000_000)
        guard hidden % heads == 0 else { throw EmbedderError("config.json hidden_size \(hidden) is not a multiple of num_attention_heads \(heads)") }
        // Every BERT size is a multiple of 16, and the AVX2 GEMM and GELU take whole 8-wide vectors on
        // such sizes; others are refused rather than run on the scalar tails untested.
        guard hidden % 16 == 0, intermediate % 16 == 0 else {
            throw EmbedderError("config.json hidden_size \(hidden) and intermediate_size \(intermediate) must be multiples of 16")
        }
        let eps = o["layer_norm_eps"] as? Double ?? 1e-12
        guard eps > 0 && eps < 1 else { throw EmbedderError("config.json layer_norm_eps \(eps) is not in (0, 1)") }
        layerNormEps = Float(eps)
    }
}

/// A post-LayerNorm BERT encoder (embeddings + LayerNorm, then per layer: self-attention, add &
/// LayerNorm, GELU MLP, add & LayerNorm) over one sequence with no padding, in f32. Weights are read
/// from a safetensors checkpoint with or without the `bert.` prefix; the pooler is not used.
public final class BertEncoder: @unchecked Sendable {
    public let config: BertConfig

    /// Floats that stay at one address for the life of the encoder (the kernels keep pointers).
    final class Floats {
        let p: UnsafeMutablePointer<Float>
        let count: Int
        init(_ values: [Float]) {
            count = values.count
            p = .allocate(capacity: max(1, count))
            _ = UnsafeMutableBufferPointer(start: p, count: count).initialize(from: values)
        }
        init(zeros n: Int) {
            count = n
            p = .allocate(capacity: max(1, n))
            p.initialize(repeating: 0, count: max(1, n))
        }
        deinit { p.deallocate() }
    }
    struct Linear {
        let weight: Floats   // [out][in], row-major as torch stores it
        let bias: Floats     // [out]
        let rows: Int, cols: Int
    }
    struct Norm { let weight: Floats, bias: Floats }
    struct Layer {
        let query, key, value, attentionOut: Linear
        let attentionNorm: Norm
        let up, down: Linear
        let outputNorm: Norm
    }

    let wordEmbeddings: Floats       // [vocab][hidden]
    let positionEmbeddings: Floats   // [maxPositions][hidden]
    let typeEmbeddings: Floats       // [typeVocab][hidden]; every token is type 0
    let embeddingNorm: Norm
    let layers: [Layer]
    let pool: WorkerPool
    let threadCount: Int
    /// One-thread pools for batches, made on first use.
    private var singlePools: [WorkerPool] = []
    private let lock = NSLock()

    public init(config: BertConfig, weights file: SafeTensorsFile, threads: Int) throws {
        self.config = config
        let prefix = file.info("bert.embeddings.word_embeddings.weight") != nil ? "bert." : ""
        func tensor(_ name: String, _ shape: [Int]) throws -> Floats {
            let full = prefix + name
            guard let info = file.info(full) else { throw EmbedderError("the weights have no tensor \(full)") }
            guard info.shape == shape else {
                throw EmbedderError("tensor \(full) has shape \(info.shape), not \(shape) as config.json implies")
            }
            do { return Floats(try file.floats(full)) } catch { throw EmbedderError("\(error)") }
        }
        let h = config.hidden, i = config.intermediate
        func linear(_ name: String, out: Int, in cols: Int) throws -> Linear {
            Linear(weight: try tensor(name + ".weight", [out, cols]), bias: try tensor(name + ".bias", [out]), rows: out, cols: cols)
        }
        func norm(_ name: String) throws -> Norm {
            Norm(weight: try tensor(name + ".weight", [h]), bias: try tensor(name + ".bias", [h]))
        }
        wordEmbeddings = try tensor("embeddings.word_embeddings.weight", [config.vocabulary, h])
        positionEmbeddings = try tensor("embeddings.position_embeddings.weight", [config.maxPositions, h])
        typeEmbeddings = try tensor("embeddings.token_type_embeddings.weight", [config.typeVocabulary, h])
        embeddingNorm = try norm("embeddings.LayerNorm")
        var layers: [Layer] = []
        for l in 0..<config.layers {
            let p = "encoder.layer.\(l)."
            layers.append(Layer(
                query: try linear(p + "attention.self.query", out: h, in: h),
                key: try linear(p + "attention.self.key", out: h, in: h),
                value: try linear(p + "attention.self.value", out: h, in: h),
                attentionOut: try linear(p + "attention.output.dense", out: h, in: h),
                attentionNorm: try norm(p + "attention.output.LayerNorm"),
                up: try linear(p + "intermediate.dense", out: i, in: h),
                down: try linear(p + "output.dense", out: h, in: i),
                outputNorm: try norm(p + "output.LayerNorm")))
        }
        self.layers = layers
        pool = WorkerPool(threads: threads)
        threadCount = max(1, threads)
    }

    /// The last layer's hidden states, [ids.count][hidden] row-major. `ids` must be 1...maxPositions
    /// long with every id below the vocabulary size (the tokenizer's ids are).
    public func hiddenStates(_ ids: [Int32]) -> [Float] {
        lock.lock()
        defer { lock.unlock() }
        return hiddenStates(ids, pool: pool)
    }

    /// Several sequences at once, one per thread, each on one core (no waits inside a sequence):
    /// what index building uses. The results are in the order of `sequences`.
    public func hiddenStates(batch sequences: [[Int32]]) -> [[Float]] {
        let workers = min(threadCount, sequences.count)
        if workers <= 1 { return sequences.map { hiddenStates($0) } }
        lock.lock()
        defer { lock.unlock() }
        while singlePools.count < workers { singlePools.append(WorkerPool(threads: 1)) }
        let results = UnsafeMutableBufferPointer<[Float]>.allocate(capacity: sequences.count)
        _ = results.initialize(repeating: [])
        defer { results.deallocate() }
        let pools = singlePools
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            for i in stride(from: w, to: sequences.count, by: workers) {
                results[i] = hiddenStates(sequences[i], pool: pools[w])
            }
        }
        return Array(results)
    }

    func hiddenStates(_ ids: [Int32], pool: WorkerPool) -> [Float] {
        let c = config, t = ids.count, h = c.hidden
        precondition(t >= 1 && t <= c.maxPositions, "sequence of \(t) tokens, not 1...\(c.maxPositions)")

        let x = Floats(zeros: t * h)                       // [t][h] the residual stream
        let q = Floats(zeros: t * h), k = Floats(zeros: t * h), v = Floats(zeros: t * h)
        let ctx = Floats(zeros: t * h), tmp = Floats(zeros: t * h)
        let up = Floats(zeros: t * c.intermediate)         // [t][i]
        let scratch = Floats(zeros: pool.threads * t * (c.headDim + 1))

        // x[t][h] = word[ids[t]] + position[t] + type[0], then LayerNorm.
        for p in 0..<t {
            let id = Int(ids[p])
            precondition(id >= 0 && id < c.vocabulary, "token id \(id) outside the vocabulary")
            for j in 0..<h {
                x.p[p * h + j] = wordEmbeddings.p[id * h + j] + positionEmbeddings.p[p * h + j] + typeEmbeddings.p[j]
            }
        }
        layerNorm(x, rows: t, embeddingNorm)

        for layer in layers {
            // q, k, v [t][h] = x [t][h] . W^T [h][h] + b
            matmul(x, [(layer.query, q), (layer.key, k), (layer.value, v)], rows: t, pool: pool)
            // ctx [t][h]: per head, softmax(q k^T / sqrt(hd)) v over all t positions
            ck_encoder_attention(pool.raw, q.p, k.p, v.p, ctx.p, Int32(t), Int32(c.heads), Int32(c.headDim),
                                 1 / Float(c.headDim).squareRoot(), scratch.p)
            // x = LayerNorm(x + ctx [t][h] . Wo^T [h][h] + bo)
            matmul(ctx, [(layer.attentionOut, tmp)], rows: t, pool: pool)
            for j in 0..<t * h { x.p[j] += tmp.p[j] }
            layerNorm(x, rows: t, layer.attentionNorm)
            // up [t][i] = gelu(x [t][h] . Wi^T [h][i] + bi)
            matmul(x, [(layer.up, up)], rows: t, pool: pool)
            ck_gelu_erf(up.p, Int32(t * c.intermediate))
            // x = LayerNorm(x + up [t][i] . Wd^T [i][h] + bd)
            matmul(up, [(layer.down, tmp)], rows: t, pool: pool)
            for j in 0..<t * h { x.p[j] += tmp.p[j] }
            layerNorm(x, rows: t, layer.outputNorm)
        }
        return Array(UnsafeBufferPointer(start: x.p, count: t * h))
    }

    /// out[r][o] = input[r][:] . W[o][:] + b[o] for each product (they share `input`, rows x cols).
    private func matmul(_ input: Floats, _ products: [(Linear, Floats)], rows: Int, pool: WorkerPool) {
        for (linear, out) in products {
            ck_gemm_f32(pool.raw, linear.weight.p, linear.bias.p, Int32(linear.rows), Int32(linear.cols),
                        input.p, Int32(rows), out.p, Int32(linear.rows))
        }
    }

    private func layerNorm(_ x: Floats, rows: Int, _ n: Norm) {
        ck_layernorm_rows(x.p, Int32(rows), Int32(config.hidden), n.weight.p, n.bias.p, config.layerNormEps)
    }
}
