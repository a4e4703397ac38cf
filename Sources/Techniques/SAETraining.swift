import Foundation
import Model

/// Settings of `SAETraining.run`.
public struct SAETrainingOptions: Sendable {
    public var corpus: String
    public var point: HookPoint
    public var output: String
    /// Feature count; nil = 8 x the hook's width.
    public var dSAE: Int?
    public var k: Int = 32
    /// Training tokens (activation rows) to stream.
    public var tokens: Int = 1_000_000
    public var batch: Int = 1024
    public var learningRate: Float = 4e-4
    /// Longest chunk evaluated at once, BOS included.
    public var context: Int = 128
    /// Activation rows held for shuffling.
    public var bufferTokens: Int = 32_768
    public var checkpointEvery: Int = 200_000
    public var deadWindow: Int = 100_000
    /// Held-out documents: this fraction of the corpus (at least one).
    public var evalFraction: Double = 0.05
    public var maxEvalTokens: Int = 20_000
    public var resume: Bool = false
    public var seed: UInt64 = 0
    /// Seconds between progress lines.
    public var progressInterval: Double = 5
    /// Activation rows whose norm exceeds this multiple of the median norm are skipped.
    public var outlierFactor: Float = 10

    public init(corpus: String, point: HookPoint, output: String) {
        self.corpus = corpus
        self.point = point
        self.output = output
    }
}

/// What a training run did and how good the SAE is on held-out text.
public struct SAETrainingReport: Sendable, Codable {
    public var directory: String
    public var hook: String
    public var dIn: Int
    public var dSAE: Int
    public var k: Int
    public var tokens: Int
    public var steps: Int
    public var seconds: Double
    public var tokensPerSecond: Double
    /// Held-out fraction of variance explained, 1 - sum||x - x_hat||^2 / sum||x - mean||^2.
    public var fve: Double?
    /// Held-out mean active features per token.
    public var l0: Double?
    /// Held-out mean ||x - x_hat||^2 in the normalised space.
    public var mse: Double?
    /// Features that never fired during the run.
    public var deadFraction: Double
    /// Features that did not fire in the last `deadWindow` training tokens.
    public var deadWindowFraction: Double
    public var deadWindow: Int
    public var evalTokens: Int
    public var normScalingFactor: Double
    public var resumedFrom: Int
    /// Rows skipped for a massive norm (training and evaluation).
    public var skippedOutliers: Int

    enum CodingKeys: String, CodingKey {
        case directory, hook, k, tokens, steps, seconds, fve, l0, mse
        case dIn = "d_in", dSAE = "d_sae", tokensPerSecond = "tokens_per_s", deadFraction = "dead_fraction"
        case deadWindowFraction = "dead_window_fraction", deadWindow = "dead_window", evalTokens = "eval_tokens"
        case normScalingFactor = "norm_scaling_factor", resumedFrom = "resumed_from", skippedOutliers = "skipped_outliers"
    }
}

/// Trains a TopK sparse autoencoder on a model's activations while the model reads a corpus,
/// streaming: chunks of text go through the model, the activations at the hook fill a bounded
/// shuffle buffer, and random batches from it train the SAE. Nothing else is kept.
public enum SAETraining {
    public enum Failure: Error, CustomStringConvertible {
        case noCorpus(String)
        case emptyCorpus(String)
        case badOption(String)
        case existingOutput(String)
        public var description: String {
            switch self {
            case .noCorpus(let p): return "no corpus at \(p): pass a text file or a directory of .txt/.md files"
            case .emptyCorpus(let p): return "the corpus at \(p) has no text"
            case .badOption(let m): return m
            case .existingOutput(let p): return "\(p) already holds an SAE: pass --resume to continue it, or choose another --out"
            }
        }
    }

    // MARK: Corpus

    /// Documents of a corpus: a text file split on blank lines, or each .txt/.md file of a
    /// directory (recursively, in path order).
    public static func documents(at path: String) throws -> [String] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw Failure.noCorpus(path) }
        var docs: [String] = []
        if isDir.boolValue {
            let root = URL(fileURLWithPath: path)
            guard let e = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else {
                throw Failure.noCorpus(path)
            }
            var files: [String] = []
            for case let url as URL in e where ["txt", "md"].contains(url.pathExtension.lowercased()) {
                if (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true { files.append(url.path) }
            }
            for f in files.sorted() {
                guard let data = FileManager.default.contents(atPath: f) else { continue }
                let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                if !text.isEmpty { docs.append(text) }
            }
        } else {
            guard let data = FileManager.default.contents(atPath: path) else { throw Failure.noCorpus(path) }
            docs = paragraphs(String(decoding: data, as: UTF8.self))
        }
        guard !docs.isEmpty else { throw Failure.emptyCorpus(path) }
        return docs
    }

    /// Text split on blank (or whitespace-only) lines.
    public static func paragraphs(_ text: String) -> [String] {
        var out: [String] = []
        var current: [Substring] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.allSatisfy({ $0.isWhitespace }) {
                if !current.isEmpty { out.append(current.joined(separator: "\n")); current = [] }
            } else {
                current.append(line)
            }
        }
        if !current.isEmpty { out.append(current.joined(separator: "\n")) }
        return out.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
    }

    /// Training and held-out documents: the last `fraction` of documents (at least one) are held
    /// out; a single document is split at 95% of its length.
    public static func split(_ docs: [String], fraction: Double) -> (train: [String], heldOut: [String]) {
        if docs.count >= 2 {
            let held = min(docs.count - 1, max(1, Int((Double(docs.count) * fraction).rounded())))
            return (Array(docs.prefix(docs.count - held)), Array(docs.suffix(held)))
        }
        let text = docs[0]
        var cut = text.index(text.startIndex, offsetBy: Int(Double(text.count) * (1 - fraction)))
        while cut < text.endIndex && !text[cut].isWhitespace { cut = text.index(after: cut) }
        let a = String(text[..<cut]), b = String(text[cut...]).trimmingCharacters(in: .whitespacesAndNewlines)
        return (b.isEmpty ? [a] : [a], b.isEmpty ? [] : [b])
    }

    /// Chunks of at most `context` tokens (BOS first when the model has one) of each document.
    struct ChunkStream {
        let docs: [String]
        let tokenizer: Tokenizer
        let context: Int
        let cycle: Bool
        var doc = 0
        var pending: [TokenID] = []
        var offset = 0
        var passes = 0

        /// The next chunk, or nil when the documents are used up (and `cycle` is off).
        mutating func next() -> [TokenID]? {
            let bos = tokenizer.bosID
            let room = context - (bos == nil ? 0 : 1)
            var emptyPasses = 0
            while offset >= pending.count {
                if doc >= docs.count {
                    guard cycle, emptyPasses == 0 else { return nil }
                    doc = 0
                    passes += 1
                    emptyPasses += 1
                }
                pending = tokenizer.encode(docs[doc], parseSpecial: false, addBOS: false)
                offset = 0
                doc += 1
                if !pending.isEmpty { emptyPasses = 0 }
            }
            let end = min(pending.count, offset + room)
            var chunk: [TokenID] = bos.map { [$0] } ?? []
            chunk += pending[offset..<end]
            offset = end
            return chunk
        }
    }

    static func finite(_ x: Double) -> Double? { x.isFinite ? x : nil }

    /// Activation rows a chunk yields (its first position is skipped).
    static func rows(of chunk: [TokenID]) -> Int { max(0, chunk.count - 1) }

    // MARK: Shuffle buffer

    final class ShuffleBuffer {
        let width: Int, capacity: Int
        var data: [Float]
        var count = 0
        init(width: Int, capacity: Int, slack: Int) {
            self.width = width
            self.capacity = capacity
            data = [Float](repeating: 0, count: (capacity + slack) * width)
        }
        func append(_ row: UnsafeMutableBufferPointer<Float>) {
            if (count + 1) * width > data.count { data += [Float](repeating: 0, count: max(width, data.count / 4)) }
            data.withUnsafeMutableBufferPointer { d in
                (d.baseAddress! + count * width).update(from: row.baseAddress!, count: width)
            }
            count += 1
        }
        /// Removes `n` random rows into `out`.
        func take(_ n: Int, into out: inout [Float], rng: inout SplitMix64) {
            out.removeAll(keepingCapacity: true)
            data.withUnsafeMutableBufferPointer { d in
                let base = d.baseAddress!
                for _ in 0..<n {
                    let r = Int(rng.next() % UInt64(count))
                    out.append(contentsOf: UnsafeBufferPointer(start: base + r * width, count: width))
                    count -= 1
                    if r != count { (base + r * width).update(from: base + count * width, count: width) }
                }
            }
        }
    }

    /// Copies hook activations into the buffer: never position 0 of a chunk, and not rows whose
    /// norm is above `outlierFactor` x the median norm of the chunk (the first position of every
    /// chunk, and sometimes the first after a leading space or newline, carries a "massive
    /// activation" ~100x the others).
    final class Collector {
        let buffer: ShuffleBuffer
        let outlierFactor: Float
        var remaining = 0
        var outliers = 0
        var referenceNorm: Float = .infinity
        private var norms: [Float] = []

        init(buffer: ShuffleBuffer, outlierFactor: Float) {
            self.buffer = buffer
            self.outlierFactor = outlierFactor
        }

        func visit(_ a: HookActivations) {
            norms.removeAll(keepingCapacity: true)
            for t in 0..<a.rows {
                var s: Float = 0
                for v in a.row(t) { s += v * v }
                norms.append(s.squareRoot())
            }
            let usable = (0..<a.rows).filter { a.firstPosition + $0 > 0 }.map { norms[$0] }
            if usable.count >= 8 { referenceNorm = usable.sorted()[usable.count / 2] }
            let limit = referenceNorm * outlierFactor
            for t in 0..<a.rows where a.firstPosition + t > 0 && remaining > 0 {
                remaining -= 1
                if norms[t] <= limit {
                    buffer.append(a.row(t))
                } else {
                    outliers += 1
                }
            }
        }
    }

    // MARK: Running

    /// Trains, checkpoints every `checkpointEvery` tokens, evaluates on held-out documents and
    /// saves the final SAE (with statistics under `training` in cfg.json). `log` gets progress lines.
    public static func run(_ options: SAETrainingOptions, model loaded: LoadedModel,
                           log: (String) -> Void = { _ in }) throws -> SAETrainingReport {
        let model = loaded.model
        let point = options.point
        guard point.layer < model.layerCount else {
            throw ActivationCapture.Failure.layerOutOfRange(point.layer, layers: model.layerCount)
        }
        let dIn = model.embeddingLength
        let dSAE = options.dSAE ?? 8 * dIn
        guard dSAE >= 1 else { throw Failure.badOption("--d-sae must be >= 1") }
        guard options.k >= 1 && options.k <= dSAE else { throw Failure.badOption("--k must be 1...\(dSAE) (d_sae)") }
        guard options.batch >= 1 else { throw Failure.badOption("--batch must be >= 1") }
        guard options.tokens >= 1 else { throw Failure.badOption("--tokens must be >= 1") }
        guard options.learningRate > 0, options.learningRate.isFinite else { throw Failure.badOption("--lr must be > 0") }
        guard options.context >= 2 && options.context <= model.trainedContextLength else {
            throw Failure.badOption("--context must be 2...\(model.trainedContextLength)")
        }
        let outURL = URL(fileURLWithPath: options.output)
        let hasCheckpoint = TopKSAETrainer.hasCheckpoint(in: outURL)
        if !options.resume && (hasCheckpoint || FileManager.default.fileExists(atPath: outURL.appendingPathComponent(SparseAutoencoder.configFile).path)) {
            throw Failure.existingOutput(options.output)
        }
        if options.resume && !hasCheckpoint {
            throw Failure.badOption("--resume: no checkpoint (\(TopKSAETrainer.stateFile)) in \(options.output)")
        }
        let docs = try documents(at: options.corpus)
        let (trainDocs, heldOut) = split(docs, fraction: options.evalFraction)

        let modelName = URL(fileURLWithPath: loaded.path).deletingPathExtension().lastPathComponent
        let totalSteps = (options.tokens + options.batch - 1) / options.batch
        var trainer: TopKSAETrainer? = nil
        var streamed = 0
        var resumedFrom = 0
        if options.resume {
            let t = try TopKSAETrainer.resume(from: outURL)
            guard t.config.dIn == dIn else {
                throw Failure.badOption("--resume: the checkpoint has d_in \(t.config.dIn) but the model's activations have width \(dIn)")
            }
            if t.config.dSAE != dSAE && options.dSAE != nil || t.config.k != options.k {
                log("note: continuing the checkpoint's d_sae \(t.config.dSAE), k \(t.config.k)")
            }
            t.updateSchedule(learningRate: options.learningRate, totalSteps: .some(totalSteps), threads: loaded.pool.threads)
            trainer = t
            streamed = t.streamPosition
            resumedFrom = t.tokensSeen
            log("resuming at \(t.tokensSeen) tokens (\(t.steps) steps)")
        }

        var chunks = ChunkStream(docs: trainDocs, tokenizer: loaded.tokenizer, context: options.context, cycle: true)
        // Skip what a resumed run already read.
        var skipped = 0
        while skipped < streamed, let c = chunks.next() { skipped += rows(of: c) }

        let buffer = ShuffleBuffer(width: dIn, capacity: max(options.bufferTokens, options.batch), slack: options.context)
        var rng = SplitMix64(seed: options.seed &+ 0x5AE)
        let cache = model.makeCache(capacity: options.context)
        let collector = Collector(buffer: buffer, outlierFactor: options.outlierFactor)
        let hooks = ActivationHooks()
        hooks.add(point) { a in collector.visit(a) }

        func forward(_ chunk: [TokenID], collect: Int) throws {
            collector.remaining = collect
            cache.truncate(to: 0)
            _ = try model.forward(chunk, cache: cache, hooks: hooks)
        }

        let start = Date()
        var lastReport = start
        var lastCheckpoint = trainer?.tokensSeen ?? 0
        var batchData: [Float] = []
        var recent: (fve: Double, mse: Double, l0: Double, aux: Double, n: Int) = (0, 0, 0, 0, 0)

        func makeTrainer() {
            var config = TopKSAETrainingConfig(dIn: dIn, dSAE: dSAE, k: options.k)
            config.learningRate = options.learningRate
            config.totalSteps = totalSteps
            config.warmupSteps = min(100, totalSteps / 20)
            config.deadWindow = options.deadWindow
            config.seed = options.seed
            config.threads = loaded.pool.threads
            let rows = min(buffer.count, 8192)
            trainer = buffer.data.withUnsafeBufferPointer { TopKSAETrainer(config: config, sample: $0, rows: rows) }
            log(String(format: "initialised: d_in %d, d_sae %d, k %d, norm_scaling_factor %.5g from %d tokens", dIn, dSAE, options.k,
                       Double(trainer!.inputScale), rows))
        }

        func trainingExtra(_ t: TopKSAETrainer, final: [String: Any]? = nil) -> [String: Any] {
            var training: [String: Any] = [
                "tokens_seen": t.tokensSeen, "steps": t.steps, "batch_size": options.batch, "learning_rate": Double(options.learningRate),
                "context_size": options.context, "dead_window": options.deadWindow,
                "never_fired_fraction": Double(t.neverFiredFraction), "corpus": options.corpus, "seed": options.seed,
                "trainer": "workbench TopKSAETrainer", "skipped_outlier_tokens": collector.outliers,
                "outlier_factor": Double(options.outlierFactor),
            ]
            if recent.n > 0 { training["recent_train_fve"] = recent.fve / Double(recent.n) }
            if let final { for (k, v) in final { training[k] = v } }
            return ["training": training, "context_size": options.context, "prepend_bos": loaded.tokenizer.bosID != nil,
                    "hook_name": point.name, "model_name": modelName]
        }

        func trainStep(_ n: Int) {
            guard let t = trainer else { return }
            buffer.take(n, into: &batchData, rng: &rng)
            let s = t.step(batchData)
            if s.fve.isFinite { recent.fve += Double(s.fve); recent.mse += Double(s.mse); recent.l0 += Double(s.l0); recent.aux += Double(s.auxLoss); recent.n += 1 }
        }

        func maybeReport(force: Bool = false) {
            let now = Date()
            guard force || now.timeIntervalSince(lastReport) >= options.progressInterval, let t = trainer, recent.n > 0 else { return }
            lastReport = now
            let elapsed = now.timeIntervalSince(start)
            let n = Double(recent.n)
            log(String(format: "tokens %d/%d  %.0f tok/s  loss %.4f  fve %.4f  l0 %.1f  aux %.4f  dead %.3f  never-fired %.3f  lr %.2e",
                       t.tokensSeen, options.tokens, Double(t.tokensSeen - resumedFrom) / max(elapsed, 1e-9),
                       recent.mse / n, recent.fve / n, recent.l0 / n, recent.aux / n, Double(t.deadFraction), Double(t.neverFiredFraction),
                       Double(t.learningRate(atStep: t.steps))))
            recent = (0, 0, 0, 0, 0)
        }

        func checkpoint() throws {
            guard let t = trainer else { return }
            t.streamPosition = streamed
            try t.saveCheckpoint(to: outURL, hookName: point.name, modelName: modelName, extra: trainingExtra(t))
            lastCheckpoint = t.tokensSeen
            log("checkpoint at \(t.tokensSeen) tokens in \(options.output)")
        }

        // Stream until `tokens` rows have been read, training whenever the buffer is full.
        while streamed < options.tokens {
            guard let chunk = chunks.next() else { break }
            let want = min(rows(of: chunk), options.tokens - streamed)
            if want == 0 { continue }
            try forward(chunk, collect: want)
            streamed += want
            if trainer == nil && buffer.count >= min(buffer.capacity, 8192) { makeTrainer() }
            while trainer != nil && buffer.count >= buffer.capacity { trainStep(options.batch) }
            maybeReport()
            if let t = trainer, options.checkpointEvery > 0, t.tokensSeen - lastCheckpoint >= options.checkpointEvery { try checkpoint() }
        }
        if trainer == nil {
            guard buffer.count > 0 else { throw Failure.emptyCorpus(options.corpus) }
            makeTrainer()
        }
        while buffer.count > 0 { trainStep(min(options.batch, buffer.count)) }
        let t = trainer!
        t.streamPosition = streamed
        let seconds = Date().timeIntervalSince(start)
        maybeReport(force: true)

        // Held-out evaluation.
        var eval = TopKSAEEvaluation(dIn: dIn)
        var evalChunks = ChunkStream(docs: heldOut.isEmpty ? Array(trainDocs.suffix(1)) : heldOut, tokenizer: loaded.tokenizer,
                                     context: options.context, cycle: false)
        if heldOut.isEmpty { log("note: no held-out documents; evaluating on the last training document") }
        while eval.tokens < options.maxEvalTokens, let chunk = evalChunks.next() {
            let want = min(rows(of: chunk), options.maxEvalTokens - eval.tokens)
            if want == 0 { continue }
            buffer.count = 0
            try forward(chunk, collect: want)
            buffer.data.withUnsafeBufferPointer { t.evaluate($0, rows: buffer.count, into: &eval) }
        }
        let report = SAETrainingReport(
            directory: options.output, hook: point.name, dIn: dIn, dSAE: t.config.dSAE, k: t.config.k, tokens: t.tokensSeen, steps: t.steps,
            seconds: seconds, tokensPerSecond: Double(t.tokensSeen - resumedFrom) / max(seconds, 1e-9),
            fve: finite(eval.fve), l0: finite(eval.l0), mse: finite(eval.mse), deadFraction: Double(t.neverFiredFraction),
            deadWindowFraction: Double(t.deadFraction), deadWindow: options.deadWindow, evalTokens: eval.tokens,
            normScalingFactor: Double(t.inputScale), resumedFrom: resumedFrom, skippedOutliers: collector.outliers)
        func jsonNumber(_ x: Double?) -> Any { x.map { $0 as Any } ?? NSNull() }
        try t.saveCheckpoint(to: outURL, hookName: point.name, modelName: modelName, extra: trainingExtra(t, final: [
            "eval_fve": jsonNumber(report.fve), "eval_l0": jsonNumber(report.l0), "eval_mse": jsonNumber(report.mse),
            "eval_tokens": report.evalTokens, "dead_fraction": report.deadFraction, "dead_window_fraction": report.deadWindowFraction,
            "seconds": report.seconds, "tokens_per_s": report.tokensPerSecond,
        ]))
        log(String(format: "done: %d tokens in %.1f s (%.0f tok/s); held-out (%d tokens): fve %.4f, l0 %.2f, dead %.4f",
                   report.tokens, report.seconds, report.tokensPerSecond, report.evalTokens, report.fve ?? .nan, report.l0 ?? .nan,
                   report.deadFraction))
        return report
    }
}
