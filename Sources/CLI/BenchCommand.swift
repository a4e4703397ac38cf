import ArgumentParser
import Foundation
import Model
import Techniques
import Workbench

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prefill and decode speed: a prompt of N tokens from an empty cache, then M greedy steps.")
    @OptionGroup var modelOptions: ModelOptions
    @Option(name: .customLong("prompt-tokens")) var promptTokens: Int = 256
    @Option(name: .customLong("gen-tokens")) var genTokens: Int = 128
    @Option(help: "Timed repetitions (the median is reported).") var reps: Int = 3
    @Flag(help: "Print JSON.") var json = false
    @Flag(help: "Measure the cost of activation hooks and SAE encoding instead: the same prefill and decode with no hook, a reading hook, and the SAE encoding every token at its hook, as ratios to the plain pass.")
    var overhead = false
    @Option(help: "With --overhead: the SAE to encode with (its hook sets the layer); without one only the hook is measured.")
    var sae: String?
    @Flag(help: "Time the terminal sanitizer instead (no model): 100k and 1M C1 controls; a printed measurement only.")
    var sanitizer = false
    @Option(help: "Time the sentence embedder instead: embed the JSON list of strings in this file (best of --reps), and with --corpus a semantic query over that corpus's index.")
    var embedTexts: String?
    @OptionGroup var embedderOption: EmbedderOption
    @Option(help: "With --embed-texts: a corpus with a semantic index to time queries on.") var corpus: String?

    func run() throws {
        guard promptTokens >= 1, genTokens >= 1, reps >= 1 else { throw ValidationError("counts must be >= 1") }
        if sanitizer { return runSanitizer() }
        if let embedTexts { return try runEmbedder(embedTexts) }
        if overhead { return try runOverhead() }
        let loaded = try modelOptions.load()
        let model = loaded.model
        let prompt = Bench.promptIDs(loaded.tokenizer, count: promptTokens)
        let cache = model.makeCache(capacity: promptTokens + genTokens + 1)

        func once() throws -> (prefill: Double, decode: Double) {
            let t = try Bench.timePrefillAndDecode(model, prompt: prompt, genTokens: genTokens, cache: cache)
            return (Double(promptTokens) / t.prefill, Double(genTokens) / t.decode)
        }

        _ = try once() // warm-up: page in the weights, spin up the workers
        var prefill: [Double] = [], decode: [Double] = []
        for _ in 0..<reps {
            let r = try once()
            prefill.append(r.prefill)
            decode.append(r.decode)
        }
        let p = Bench.median(prefill), d = Bench.median(decode)
        let samplerMs = try Bench.samplerMilliseconds(model, prompt: prompt, cache: cache)
        let share = samplerMs / 1000 * d
        if json {
            struct Out: Encodable {
                let prefill_tokens_per_s: Double, decode_tokens_per_s: Double
                let threads: Int, prompt_tokens: Int, gen_tokens: Int, reps: Int
                let prefill_runs: [Double], decode_runs: [Double]
                let sampler_ms_per_token: Double, sampler_share_of_decode_step: Double
            }
            try printJSON(Out(prefill_tokens_per_s: p, decode_tokens_per_s: d, threads: loaded.pool.threads,
                              prompt_tokens: promptTokens, gen_tokens: genTokens, reps: reps,
                              prefill_runs: prefill, decode_runs: decode, sampler_ms_per_token: samplerMs, sampler_share_of_decode_step: share))
        } else {
            print(String(format: "prefill %.1f tok/s, decode %.1f tok/s (%d threads, %d prompt + %d generated tokens, median of %d)",
                         p, d, loaded.pool.threads, promptTokens, genTokens, reps))
            print(String(format: "sampler with top-k off (T 0.8, top-p 0.95, min-p 0.05): %.3f ms per token, %.1f%% of a decode step",
                         samplerMs, 100 * share))
        }
    }

    /// `--embed-texts`: the embedder's throughput over a fixed list of texts (batched one sequence per
    /// thread, as index building runs), and the median time of a semantic query (embedding plus the
    /// scan of every chunk) over a corpus's semantic index.
    func runEmbedder(_ path: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard let texts = try JSONSerialization.jsonObject(with: data) as? [String], !texts.isEmpty else {
            throw ValidationError("\(path) must hold a JSON list of strings")
        }
        let threads = modelOptions.threads
        let embedder = try SentenceEmbedder(folder: embedderOption.folder, threads: threads)
        let pieces = texts.map { embedder.tokenizer.pieces($0, limit: embedder.maxPieces).map(\.id) }
        let tokens = pieces.reduce(0) { $0 + $1.count + 2 }
        _ = embedder.embed(batch: Array(pieces.prefix(8)))   // warm-up
        var best = Double.infinity
        for _ in 0..<reps {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = embedder.embed(batch: pieces)
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        var queryMs: Double?
        var chunks: Int?
        if let corpus {
            let dir = URL(fileURLWithPath: corpus)
            let (index, _) = try DataSearchIndex.open(corpus: dir)
            let (searcher, why) = SemanticSearcher.open(corpus: index, directory: dir, embedderFolder: embedderOption.folder)
            guard let searcher else { throw ValidationError(why) }
            let queries = ["why do chatbots mention how many people live in a country", "a recipe for tomato soup",
                           "reward models with systematic biases", "the striker scored in the final", "how to prune roses"]
            var times: [Double] = []
            for q in queries + queries {
                let start = DispatchTime.now().uptimeNanoseconds
                _ = try index.search(q, limit: 10, mode: .semantic, semantic: searcher)
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
            queryMs = Bench.median(Array(times.dropFirst()))
            chunks = searcher.index.chunkCount
        }
        struct Out: Encodable {
            let tokens: Int, texts: Int, seconds: Double, tokens_per_second: Double, threads: Int
            let query_ms: Double?, query_chunks: Int?
        }
        let out = Out(tokens: tokens, texts: texts.count, seconds: best, tokens_per_second: Double(tokens) / best, threads: threads,
                      query_ms: queryMs, query_chunks: chunks)
        if json { return try printJSON(out) }
        print(String(format: "embedder: %d tokens in %.2f s, %.0f tokens/s (%d threads)", tokens, best, out.tokens_per_second, threads)
              + (queryMs.map { String(format: "; semantic query over %d chunks: %.1f ms (median)", chunks ?? 0, $0) } ?? ""))
    }

    /// Prefill and decode timed with no hooks, a reading hook (copies each row, as activation
    /// capture does) and a hook that also SAE-encodes every row, interleaved per repetition.
    /// `--sanitizer`: the median time of `TerminalText.sanitize` on 100k and 1M U+0085 (the input
    /// that was quadratic, issue 14) and on 1M mixed characters.
    func runSanitizer() {
        struct Row: Encodable { let input: String; let scalars: Int; let seconds: Double }
        var rows: [Row] = []
        let inputs: [(String, String)] = [
            ("100k U+0085", String(repeating: "\u{85}", count: 100_000)),
            ("1M U+0085", String(repeating: "\u{85}", count: 1_000_000)),
            ("1M mixed", String(repeating: "ab\u{85}é\u{202E}\u{1B}北\u{9B}x\n", count: 100_000)),
        ]
        for (name, text) in inputs {
            var times: [Double] = []
            for _ in 0..<reps {
                let start = DispatchTime.now().uptimeNanoseconds
                let out = TerminalText.sanitize(text)
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                precondition(!out.isEmpty)
            }
            rows.append(Row(input: name, scalars: text.unicodeScalars.count, seconds: times.sorted()[times.count / 2]))
        }
        if json {
            try? printJSON(rows)
        } else {
            for r in rows { print("sanitize \(r.input) (\(r.scalars) scalars): \(String(format: "%.3f", r.seconds)) s") }
        }
    }

    func runOverhead() throws {
        let loaded = try modelOptions.load()
        let model = loaded.model
        let autoencoder = try sae.map { try SparseAutoencoder.load(directory: $0, expectedDIn: model.embeddingLength) }
        let point = autoencoder?.hookPoint ?? .residPost(model.layerCount / 2)
        guard point.layer < model.layerCount else { throw ValidationError("the SAE's hook \(point.name) is past the model's blocks") }
        let prompt = Bench.promptIDs(loaded.tokenizer, count: promptTokens)
        let cache = model.makeCache(capacity: promptTokens + genTokens + 1)
        var sink: Float = 0
        var copy = [Float](repeating: 0, count: model.embeddingLength)
        let reading = ActivationHooks()
        reading.add(point) { a in
            for t in 0..<a.rows { for (i, v) in a.row(t).enumerated() { copy[i] = v }; sink += copy[0] }
        }
        let encoding = ActivationHooks()
        if let autoencoder {
            encoding.add(point) { a in
                for t in 0..<a.rows { sink += autoencoder.encode(UnsafeBufferPointer(a.row(t))).reduce(0, +) }
            }
        }
        var modes: [(name: String, hooks: ActivationHooks?)] = [("plain", nil), ("reading_hook", reading)]
        if autoencoder != nil { modes.append(("sae_encode", encoding)) }

        func once(_ hooks: ActivationHooks?) throws -> (prefill: Double, decode: Double) {
            try Bench.timePrefillAndDecode(model, prompt: prompt, genTokens: genTokens, cache: cache, hooks: hooks)
        }
        for m in modes { _ = try once(m.hooks) } // warm-up
        var prefill = [[Double]](repeating: [], count: modes.count), decode = prefill
        for _ in 0..<reps {
            for (i, m) in modes.enumerated() {
                let r = try once(m.hooks)
                prefill[i].append(r.prefill)
                decode[i].append(r.decode)
            }
        }
        struct Mode: Encodable {
            let name: String
            let prefill_ms_per_token: Double, decode_ms_per_token: Double
            let prefill_ratio: Double, decode_ratio: Double
        }
        let basePrefill = Bench.median(prefill[0]), baseDecode = Bench.median(decode[0])
        let results = modes.indices.map { i in
            Mode(name: modes[i].name,
                 prefill_ms_per_token: 1000 * Bench.median(prefill[i]) / Double(promptTokens),
                 decode_ms_per_token: 1000 * Bench.median(decode[i]) / Double(genTokens),
                 prefill_ratio: Bench.median(prefill[i]) / basePrefill, decode_ratio: Bench.median(decode[i]) / baseDecode)
        }
        if sink.isNaN { FileHandle.standardError.write(Data("note: NaN in the hooked activations\n".utf8)) }
        if json {
            struct Out: Encodable {
                let hook: String, d_sae: Int?, threads: Int, prompt_tokens: Int, gen_tokens: Int, reps: Int, modes: [Mode]
            }
            try printJSON(Out(hook: point.name, d_sae: autoencoder?.dSAE, threads: loaded.pool.threads, prompt_tokens: promptTokens,
                              gen_tokens: genTokens, reps: reps, modes: results))
        } else {
            print("hooks at \(point.name)\(autoencoder.map { ", SAE d_sae \($0.dSAE)" } ?? ""); \(loaded.pool.threads) threads, "
                  + "\(promptTokens) prompt + \(genTokens) generated tokens, median of \(reps); ratios to the plain pass")
            for r in results {
                print("  " + r.name.padding(toLength: 13, withPad: " ", startingAt: 0)
                      + String(format: " prefill %.3f ms/token (x%.3f)   decode %.3f ms/token (x%.3f)", r.prefill_ms_per_token, r.prefill_ratio, r.decode_ms_per_token, r.decode_ratio))
            }
        }
    }

    /// A fixed English paragraph, repeated and cut to exactly `count` tokens.
    static func promptIDs(_ tokenizer: Tokenizer, count: Int) -> [TokenID] {
        let paragraph = "The history of science is full of instruments that let people see what was hidden: "
            + "the telescope, the microscope, the spectrometer. Each one began as a curiosity and became a standard "
            + "tool once others could reproduce what it showed. "
        var ids: [TokenID] = tokenizer.promptNeedsBOS([]) ? tokenizer.bosID.map { [$0] } ?? [] : []
        let chunk = tokenizer.encode(paragraph, parseSpecial: false, addBOS: false)
        while ids.count < count { ids.append(contentsOf: chunk) }
        return Array(ids.prefix(count))
    }

    /// Seconds for the prompt from an empty cache, then for `genTokens` greedy decode steps.
    static func timePrefillAndDecode(_ model: any LanguageModel, prompt: [TokenID], genTokens: Int,
                                     cache: KVCache, hooks: ActivationHooks? = nil) throws -> (prefill: Double, decode: Double) {
        cache.truncate(to: 0)
        let t0 = DispatchTime.now().uptimeNanoseconds
        var logits = try model.forward(prompt, cache: cache, hooks: hooks)
        let t1 = DispatchTime.now().uptimeNanoseconds
        var token: TokenID = 0
        for _ in 0..<genTokens {
            token = argmax(logits)
            logits = try withUnsafePointer(to: &token) { try model.forward(UnsafeBufferPointer(start: $0, count: 1), cache: cache, hooks: hooks) }
        }
        let t2 = DispatchTime.now().uptimeNanoseconds
        return (Double(t1 - t0) / 1e9, Double(t2 - t1) / 1e9)
    }

    /// Milliseconds one draw takes with top-k off (the whole vocabulary ordered), on the model's
    /// real logits after the prompt; the median of 5 runs of 200 draws.
    static func samplerMilliseconds(_ model: any LanguageModel, prompt: [TokenID], cache: KVCache) throws -> Double {
        cache.truncate(to: 0)
        let logits = Array(try model.forward(prompt, cache: cache, hooks: nil))
        let sampler = Sampler(parameters: SamplingParameters(temperature: 0.8, topK: 0, topP: 0.95, minP: 0.05, repetitionPenalty: 1, seed: 1),
                              vocabularySize: logits.count)
        var runs: [Double] = []
        var sink: TokenID = 0
        try logits.withUnsafeBufferPointer { l in
            for _ in 0..<5 {
                let t0 = DispatchTime.now().uptimeNanoseconds
                for _ in 0..<200 { sink &+= sampler.sample(l) }
                runs.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6 / 200)
            }
            if sink == TokenID.min { throw ValidationError("unreachable") }  // keeps the draws from being optimised away
        }
        return median(runs)
    }

    static func argmax(_ logits: UnsafeBufferPointer<Float>) -> TokenID {
        var best = 0
        for i in 1..<logits.count where logits[i] > logits[best] { best = i }
        return TokenID(best)
    }

    static func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}
