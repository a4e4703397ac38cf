import ArgumentParser
import Foundation
import Model
import Techniques
import Workbench

/// `workbench sae ...`: sparse autoencoders of the model's own activations.
struct SAE: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sae",
        abstract: "Sparse autoencoders of the model's activations.",
        subcommands: [SAETrain.self, SAEIndex.self]
    )
}

struct SAETrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a TopK sparse autoencoder on activations while the model reads a corpus.",
        discussion: """
        Streams the corpus (a text file split on blank lines, or a directory of .txt/.md files) through
        the model in chunks of --context tokens, collects activations at the hook into a shuffle buffer
        and trains on random batches. Writes an SAELens directory (cfg.json, sae_weights.safetensors)
        that `workbench features --sae DIR` reads, plus trainer_state.safetensors for --resume.
        Progress goes to stderr; the last 5% of documents are held out for evaluation. Here --context is
        the chunk length (default 128). The first position of each chunk, and any activation with a
        norm over 10x the chunk's median (a "massive activation"), are skipped.
        """)
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var inProcessOnly: InProcessOnly
    @Option(help: "A text file (documents split on blank lines) or a directory of .txt/.md files.") var corpus: String
    @Option(help: "Block index.") var layer: Int
    @Option(help: "Hook: resid_pre, resid_post, attn_out, mlp_out, or a full name such as blocks.L.hook_resid_post.")
    var hook: String = "resid_post"
    @Option(name: .customLong("d-sae"), help: "Features (default: 8 x the model's width).") var dSAE: Int?
    @Option(help: "Features kept per token.") var k: Int = 32
    @Option(help: "Training tokens to stream.") var tokens: Int = 1_000_000
    @Option(help: "Tokens per batch.") var batch: Int = 1024
    @Option(help: "Adam learning rate.") var lr: Float = 4e-4
    @Option(help: "Output directory.") var out: String
    @Flag(help: "Continue the checkpoint in --out.") var resume = false
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(name: .customLong("checkpoint-every"), help: "Save a checkpoint every this many tokens (0 = only at the end).")
    var checkpointEvery: Int = 200_000
    @Option(name: .customLong("buffer-tokens"), help: "Activations held for shuffling.") var bufferTokens: Int = 32_768
    @Option(name: .customLong("dead-window"), help: "A feature is dead when it has not fired in this many tokens.")
    var deadWindow: Int = 100_000
    @Option(name: .customLong("eval-tokens"), help: "Most held-out tokens to evaluate on.") var evalTokens: Int = 20_000
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard layer >= 0 else { throw ValidationError("--layer must be >= 0") }
        if let dSAE { guard dSAE >= 1 else { throw ValidationError("--d-sae must be >= 1") } }
        guard k >= 1 else { throw ValidationError("--k must be >= 1") }
        guard tokens >= 1 else { throw ValidationError("--tokens must be >= 1") }
        guard batch >= 1 else { throw ValidationError("--batch must be >= 1") }
        guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be > 0") }
        guard checkpointEvery >= 0 else { throw ValidationError("--checkpoint-every must be >= 0") }
        guard bufferTokens >= 1 else { throw ValidationError("--buffer-tokens must be >= 1") }
        guard deadWindow >= 1 else { throw ValidationError("--dead-window must be >= 1") }
        guard evalTokens >= 0 else { throw ValidationError("--eval-tokens must be >= 0") }
        if let c = modelOptions.context { guard c >= 2 else { throw ValidationError("--context must be >= 2") } }
    }

    func run() throws {
        let name = hook.hasPrefix("blocks.") ? hook : "blocks.\(layer).hook_\(hook)"
        guard let point = HookPoint(name: name) else {
            throw ValidationError("unknown hook '\(hook)': use resid_pre, resid_post, attn_out or mlp_out")
        }
        guard point.layer == layer else { throw ValidationError("--hook \(hook) names block \(point.layer) but --layer is \(layer)") }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: corpus, isDirectory: &isDir) else {
            throw ValidationError("no corpus at \(corpus): pass a text file or a directory of .txt/.md files")
        }
        let loaded = try modelOptions.load()
        guard layer < loaded.model.layerCount else {
            throw ValidationError("layer \(layer) is out of range: the model has blocks 0...\(loaded.model.layerCount - 1)")
        }
        var options = SAETrainingOptions(corpus: corpus, point: point, output: out)
        options.dSAE = dSAE
        options.k = k
        options.tokens = tokens
        options.batch = batch
        options.learningRate = lr
        options.context = modelOptions.context ?? 128
        options.bufferTokens = bufferTokens
        options.checkpointEvery = checkpointEvery
        options.deadWindow = deadWindow
        options.maxEvalTokens = evalTokens
        options.resume = resume
        options.seed = seed
        let report = try SAETraining.run(options, model: loaded) { line in
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
        if json {
            try printJSON(report)
        } else {
            printSafe(report.directory + String(format: ": d_sae %d, k %d, %d tokens in %.1f s (%.0f tok/s)\nheld-out (%d tokens): fve %.4f, l0 %.2f, dead %.4f\n",
                             report.dSAE, report.k, report.tokens, report.seconds, report.tokensPerSecond,
                             report.evalTokens, report.fve ?? .nan, report.l0 ?? .nan, report.deadFraction))
        }
    }
}

struct SAEIndex: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Build the feature index of an SAE over a corpus: top contexts, frequency and a label per feature.",
        discussion: """
        Streams the corpus (a file, or a directory of .txt/.md/.jsonl files; .jsonl lines carry a "text" \
        field, other files are split on blank lines) through the model in chunks of --chunk tokens, \
        encodes every token at the SAE's hook, and keeps per feature its --top strongest contexts (one per \
        chunk), how often it fires and an automatic label: the characteristic tokens of its contexts \
        (activation-weighted, idf-scaled), then the tokens its decoder direction promotes (logit lens). \
        Chunk position 0 (BOS, an attention sink) and massive-norm outliers are not indexed. \
        Writes DIR/feature_index.json; `workbench features search|detail` read it. Progress on stderr.
        """)
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var inProcessOnly: InProcessOnly
    @Option(help: "SAELens directory: cfg.json and sae_weights.safetensors.") var sae: String
    @Option(help: "A file or a directory of .txt/.md/.jsonl files.") var corpus: String
    @Option(name: .customLong("max-tokens"), help: "Most tokens to index.") var maxTokens: Int = 100_000
    @Option(help: "Chunk length in tokens (BOS included).") var chunk: Int = 128
    @Option(help: "Contexts kept per feature.") var top: Int = 10
    @Option(help: "Output file (default: feature_index.json in the SAE directory).") var out: String?
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be >= 1") }
        guard chunk >= 2 else { throw ValidationError("--chunk must be >= 2") }
        guard top >= 1 else { throw ValidationError("--top must be >= 1") }
    }

    func run() throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: corpus, isDirectory: &isDir) else {
            throw ValidationError("no corpus at \(corpus): pass a file or a directory of .txt, .md or .jsonl files")
        }
        let loaded = try modelOptions.load()
        let autoencoder = try SparseAutoencoder.load(directory: sae, expectedDIn: loaded.model.embeddingLength)
        var options = FeatureIndexOptions(corpus: corpus)
        options.maxTokens = maxTokens
        options.chunkLength = chunk
        options.top = top
        let index = try FeatureIndex.build(sae: autoencoder, model: loaded, options: options) { line in
            FileHandle.standardError.write(Data((TerminalText.sanitize(line) + "\n").utf8))
        }
        let url = out.map { URL(fileURLWithPath: $0) } ?? FeatureIndex.url(in: autoencoder.directory)
        try index.save(to: url)
        let bytes = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
        if json {
            struct Out: Encodable {
                let path: String, hook: String, tokens: Int, documents: Int, chunks: Int, seconds: Double
                let d_sae: Int, alive: Int, skipped_outliers: Int, bytes: Int
            }
            try printJSON(Out(path: url.path, hook: index.hook, tokens: index.tokens, documents: index.documents, chunks: index.chunks,
                              seconds: index.seconds, d_sae: index.dSAE, alive: index.aliveCount, skipped_outliers: index.skippedOutliers,
                              bytes: bytes))
        } else {
            printSafe(url.path + String(format: ": %d tokens (%d documents) in %.1f s; %d of %d features alive; %.1f MiB\n",
                                        index.tokens, index.documents, index.seconds, index.aliveCount, index.dSAE,
                                        Double(bytes) / 1_048_576))
        }
    }
}
