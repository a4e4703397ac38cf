import ArgumentParser
import Foundation
import Model

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prefill and decode speed: a prompt of N tokens from an empty cache, then M greedy steps.")
    @OptionGroup var modelOptions: ModelOptions
    @Option(name: .customLong("prompt-tokens")) var promptTokens: Int = 256
    @Option(name: .customLong("gen-tokens")) var genTokens: Int = 128
    @Option(help: "Timed repetitions (the median is reported).") var reps: Int = 3
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        guard promptTokens >= 1, genTokens >= 1, reps >= 1 else { throw ValidationError("counts must be >= 1") }
        let loaded = try modelOptions.load()
        let model = loaded.model
        let prompt = Bench.promptIDs(loaded.tokenizer, count: promptTokens)
        let cache = model.makeCache(capacity: promptTokens + genTokens + 1)

        func once() throws -> (prefill: Double, decode: Double) {
            cache.truncate(to: 0)
            let t0 = DispatchTime.now().uptimeNanoseconds
            var logits = try model.forward(prompt, cache: cache)
            let t1 = DispatchTime.now().uptimeNanoseconds
            var token: TokenID = 0
            for _ in 0..<genTokens {
                token = Bench.argmax(logits)
                logits = try withUnsafePointer(to: &token) { try model.forward(UnsafeBufferPointer(start: $0, count: 1), cache: cache) }
            }
            let t2 = DispatchTime.now().uptimeNanoseconds
            return (Double(promptTokens) / (Double(t1 - t0) / 1e9), Double(genTokens) / (Double(t2 - t1) / 1e9))
        }

        _ = try once() // warm-up: page in the weights, spin up the workers
        var prefill: [Double] = [], decode: [Double] = []
        for _ in 0..<reps {
            let r = try once()
            prefill.append(r.prefill)
            decode.append(r.decode)
        }
        let p = Bench.median(prefill), d = Bench.median(decode)
        if json {
            struct Out: Encodable {
                let prefill_tokens_per_s: Double, decode_tokens_per_s: Double
                let threads: Int, prompt_tokens: Int, gen_tokens: Int, reps: Int
                let prefill_runs: [Double], decode_runs: [Double]
            }
            try printJSON(Out(prefill_tokens_per_s: p, decode_tokens_per_s: d, threads: loaded.pool.threads,
                              prompt_tokens: promptTokens, gen_tokens: genTokens, reps: reps,
                              prefill_runs: prefill, decode_runs: decode))
        } else {
            print(String(format: "prefill %.1f tok/s, decode %.1f tok/s (%d threads, %d prompt + %d generated tokens, median of %d)",
                         p, d, loaded.pool.threads, promptTokens, genTokens, reps))
        }
    }

    /// A fixed English paragraph, repeated and cut to exactly `count` tokens.
    static func promptIDs(_ tokenizer: Tokenizer, count: Int) -> [TokenID] {
        let paragraph = "The history of science is full of instruments that let people see what was hidden: "
            + "the telescope, the microscope, the spectrometer. Each one began as a curiosity and became a standard "
            + "tool once others could reproduce what it showed. "
        var ids: [TokenID] = []
        let chunk = tokenizer.encode(paragraph, parseSpecial: false)
        while ids.count < count { ids.append(contentsOf: chunk) }
        return Array(ids.prefix(count))
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
