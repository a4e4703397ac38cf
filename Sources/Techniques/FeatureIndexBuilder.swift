import Foundation
import Model

extension FeatureIndex {
    /// Builds the index by streaming the corpus through the model in chunks: each chunk's
    /// activations at the SAE's hook are encoded token by token, and only per-feature counters and
    /// the current top contexts are kept (never the activations of more than one chunk).
    ///
    /// Chunk position 0 (BOS, an attention sink with a huge norm) is never indexed, and neither is
    /// a token whose activation norm is over `outlierFactor` x the chunk's median (the same rule as
    /// `sae train`, which never showed the SAE such rows). `log` gets progress lines.
    public static func build(sae: SparseAutoencoder, model loaded: LoadedModel, options: FeatureIndexOptions,
                             log: (String) -> Void = { _ in }) throws -> FeatureIndex {
        guard let point = sae.hookPoint else { throw Failure.noHookPoint(sae.hookName) }
        let model = loaded.model
        guard point.layer < model.layerCount else { throw ActivationCapture.Failure.layerOutOfRange(point.layer, layers: model.layerCount) }
        guard sae.dIn == model.embeddingLength else {
            throw Failure.badOption("the SAE's d_in is \(sae.dIn) but the model's activations have width \(model.embeddingLength)")
        }
        guard options.maxTokens >= 1 else { throw Failure.badOption("--max-tokens must be >= 1") }
        guard options.chunkLength >= 2 && options.chunkLength <= model.trainedContextLength else {
            throw Failure.badOption("--chunk must be 2...\(model.trainedContextLength)")
        }
        guard options.top >= 1 else { throw Failure.badOption("--top must be >= 1") }
        guard options.windowBefore >= 0, options.windowAfter >= 0 else { throw Failure.badOption("context windows must be >= 0") }
        let corpus = try FeatureCorpus(path: options.corpus)

        let dIn = sae.dIn, dSAE = sae.dSAE, tokenizer = loaded.tokenizer
        let state = IndexState(dSAE: dSAE, top: options.top)
        let chunkRows = UnsafeMutablePointer<Float>.allocate(capacity: options.chunkLength * dIn)
        defer { chunkRows.deallocate() }
        var captured = 0
        let hooks = ActivationHooks()
        hooks.add(point) { a in
            // One forward call per chunk, so rows are positions firstPosition..<firstPosition+rows of it.
            for t in 0..<a.rows where a.firstPosition + t < options.chunkLength {
                (chunkRows + (a.firstPosition + t) * dIn).update(from: a.row(t).baseAddress!, count: dIn)
                captured = max(captured, a.firstPosition + t + 1)
            }
        }
        let cache = model.makeCache(capacity: options.chunkLength)
        let threads = max(1, loaded.pool.threads)
        var encodings = [[(feature: Int32, value: Float)]](repeating: [], count: options.chunkLength)
        var pieces: [TokenID: String] = [:]
        func text(_ id: TokenID) -> String {
            if let s = pieces[id] { return s }
            let s = String(decoding: tokenizer.piece(id), as: UTF8.self)
            pieces[id] = s
            return s
        }

        let start = Date()
        var lastReport = start
        var documents = 0, chunks = 0, outliers = 0
        var referenceNorm: Float = .infinity
        let bos = tokenizer.bosID
        let room = options.chunkLength - (bos == nil ? 0 : 1)

        func process(_ chunk: [TokenID], document: Int) throws {
            captured = 0
            cache.truncate(to: 0)
            _ = try model.forward(chunk, cache: cache, hooks: hooks)
            let n = min(captured, chunk.count)
            chunks += 1
            // Outliers: norm over outlierFactor x the median of positions 1..<n.
            var norms = [Float](repeating: 0, count: n)
            for t in 0..<n {
                var s: Float = 0
                let row = chunkRows + t * dIn
                for i in 0..<dIn { s += row[i] * row[i] }
                norms[t] = s.squareRoot()
            }
            if n - 1 >= 8 { referenceNorm = norms[1...].sorted()[(n - 1) / 2] }
            let limit = referenceNorm * options.outlierFactor
            var usable = [Bool](repeating: false, count: n)
            var remaining = options.maxTokens - state.tokens
            for t in 1..<max(n, 1) where remaining > 0 {
                if norms[t] <= limit { usable[t] = true; remaining -= 1 } else { outliers += 1 }
            }
            let positions = (0..<n).filter { usable[$0] }
            // Encode the usable rows, split across threads.
            encodings.withUnsafeMutableBufferPointer { enc in
                let out = enc
                DispatchQueue.concurrentPerform(iterations: threads) { w in
                    var i = w
                    while i < positions.count {
                        let t = positions[i]
                        let f = sae.encode(UnsafeBufferPointer(start: chunkRows + t * dIn, count: dIn))
                        var sparse: [(feature: Int32, value: Float)] = []
                        for j in 0..<dSAE where f[j] > 0 { sparse.append((Int32(j), f[j])) }
                        out[t] = sparse
                        i += threads
                    }
                }
            }
            for t in 0..<n where !usable[t] { encodings[t] = [] }
            state.add(chunk: chunk, usable: usable, encodings: encodings, document: document, options: options, text: text)
        }

        try corpus.forEachDocument { doc in
            let ids = tokenizer.encode(doc, parseSpecial: false, addBOS: false)
            if ids.isEmpty { return true }
            documents += 1
            var offset = 0
            while offset < ids.count && state.tokens < options.maxTokens {
                let end = min(ids.count, offset + room)
                try process((bos.map { [$0] } ?? []) + ids[offset..<end], document: documents - 1)
                offset = end
                let now = Date()
                if now.timeIntervalSince(lastReport) >= options.progressInterval {
                    lastReport = now
                    let elapsed = now.timeIntervalSince(start)
                    log(String(format: "indexed %d/%d tokens (%d documents) in %.0f s, %.0f tok/s, %d features alive so far",
                               state.tokens, options.maxTokens, documents, elapsed, Double(state.tokens) / max(elapsed, 1e-9),
                               state.activeCount.filter { $0 > 0 }.count))
                }
            }
            return state.tokens < options.maxTokens
        }
        guard state.tokens > 0 else { throw Failure.badOption("the corpus at \(options.corpus) gave no tokens to index") }

        log("labelling: logit lens over the unembedding")
        let promoted = try promotedTokens(sae: sae, model: loaded, count: options.promotedTokens)
        var summaries: [FeatureSummary] = []
        summaries.reserveCapacity(dSAE)
        for j in 0..<dSAE {
            let contexts = state.best[j].map(\.context)
            let activating = characteristicTokens(contexts: contexts, count: options.labelTokens, idf: state.idf)
            let promotedTexts = promoted.map { $0[j].map { text($0) } } ?? []
            let active = state.activeCount[j]
            summaries.append(FeatureSummary(
                index: j, activeTokens: active, frequency: Double(active) / Double(state.tokens),
                maxActivation: state.maxActivation[j], meanActivation: active > 0 ? Float(state.sumActivation[j] / Double(active)) : 0,
                label: label(activating: activating, promoted: promotedTexts, dead: active == 0),
                activatingTokens: activating, promotedTokens: promotedTexts, contexts: contexts))
        }
        let seconds = Date().timeIntervalSince(start)
        let index = FeatureIndex(
            format: formatName, version: currentVersion, hook: point.name, dIn: dIn, dSAE: dSAE, saeFingerprint: sae.weightsFingerprint,
            model: URL(fileURLWithPath: loaded.path).lastPathComponent, corpus: options.corpus, tokens: state.tokens, documents: documents,
            chunks: chunks, chunkLength: options.chunkLength, top: options.top, windowBefore: options.windowBefore,
            windowAfter: options.windowAfter, skippedOutliers: outliers, seconds: seconds, labelMethod: labelMethod, features: summaries)
        log(String(format: "indexed %d tokens (%d documents, %d chunks) in %.1f s; %d of %d features alive",
                   index.tokens, documents, chunks, seconds, index.aliveCount, dSAE))
        return index
    }

    /// A token shown in a label: surrounding whitespace removed; a whitespace-only token by name.
    static func labelText(_ token: String) -> String {
        let trimmed = token.trimmingCharacters(in: .whitespacesAndNewlines)
        if !trimmed.isEmpty { return trimmed }
        if token.contains("\n") { return "\\n" }
        if token.contains("\t") { return "\\t" }
        return token.isEmpty ? "" : "␣"
    }

    /// `a / b / c`: the activating tokens. The promoted tokens stay out of the label: on the
    /// default model's middle layer the logit lens mostly gives word fragments ("avoc", "ispens")
    /// that read as noise, while the activating tokens read as the feature's trigger; they are
    /// kept beside it (`promotedTokens`, shown by detail and matched by search). A feature that
    /// never fired is labelled by its promoted tokens, the only evidence there is.
    static func label(activating: [String], promoted: [String], dead: Bool) -> String {
        guard dead else { return activating.joined(separator: " / ") }
        let right = promoted.map(labelText).filter { !$0.isEmpty }.joined(separator: " / ")
        return right.isEmpty ? "(never fired)" : "(never fired) → " + right
    }

    /// The most characteristic tokens of a feature's top contexts: every token it fired on
    /// contributes activation / (the feature's max over the contexts) x idf, summed over the
    /// contexts under the folded text (case and surrounding whitespace ignored); tokens at
    /// least half the best's weight (a quarter let in one-off neighbours), best first, at most `count`.
    static func characteristicTokens(contexts: [FeatureContext], count: Int, idf: (String) -> Double) -> [String] {
        let peak = contexts.map(\.activation).max() ?? 0
        guard peak > 0, count > 0 else { return [] }
        var weight: [String: Double] = [:]
        var shown: [String: String] = [:]
        for c in contexts {
            for p in c.markedPositions {
                let token = c.tokens[p]
                let key = fold(token).isEmpty ? labelText(token) : fold(token)
                weight[key, default: 0] += Double(c.activations[p] / peak) * idf(token)
                if shown[key] == nil { shown[key] = labelText(token) }
            }
        }
        let ranked = weight.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        guard let best = ranked.first?.value, best > 0 else { return [] }
        return ranked.prefix(count).filter { $0.value >= best / 2 }.map { shown[$0.key] ?? $0.key }
    }

    /// The `count` tokens each feature's decoder direction promotes most through the final
    /// RMSNorm gain and the unembedding (`W_U · (g ⊙ W_dec[f])`), or nil when the model has no
    /// unembedding this can read. The unembedding is dequantised a block of rows at a time.
    public static func promotedTokens(sae: SparseAutoencoder, model loaded: LoadedModel, count: Int) throws -> [[TokenID]]? {
        guard count > 0 else { return nil }
        let file = loaded.file, dIn = sae.dIn, dSAE = sae.dSAE, vocabulary = loaded.model.vocabularySize
        let name = file.tensor("output.weight") != nil ? "output.weight" : "token_embd.weight"
        guard let unembedding = try? WeightMatrix(file: file, name: name, rows: vocabulary, cols: dIn) else { return nil }
        var gain = [Float](repeating: 1, count: dIn)
        if let info = file.tensor("output_norm.weight"), info.type == .f32, info.elementCount == dIn {
            let p = file.data(of: info)
            for i in 0..<dIn { gain[i] = p.loadUnaligned(fromByteOffset: 4 * i, as: Float.self) }
        }
        var directions = [Float](repeating: 0, count: dSAE * dIn)
        for j in 0..<dSAE {
            let d = sae.decoderDirection(j)
            for i in 0..<dIn { directions[j * dIn + i] = d[i] * gain[i] }
        }
        let k = min(count, vocabulary)
        var topIDs = [Int32](repeating: -1, count: dSAE * k)
        var topValues = [Float](repeating: -.infinity, count: dSAE * k)
        let blockRows = 512
        var block = [Float](repeating: 0, count: blockRows * dIn)
        let threads = max(1, loaded.pool.threads)
        var first = 0
        while first < vocabulary {
            let rows = min(blockRows, vocabulary - first)
            block.withUnsafeMutableBufferPointer { b in
                for r in 0..<rows { unembedding.dequantizeRow(first + r, into: b.baseAddress! + r * dIn) }
            }
            block.withUnsafeBufferPointer { b in
                directions.withUnsafeBufferPointer { dirs in
                    topIDs.withUnsafeMutableBufferPointer { ids in
                        topValues.withUnsafeMutableBufferPointer { vals in
                            let idsOut = ids, valsOut = vals
                            // Each worker owns a stride of features, so no two write the same top list.
                            DispatchQueue.concurrentPerform(iterations: threads) { w in
                                var j = w
                                while j < dSAE {
                                    let dir = dirs.baseAddress! + j * dIn
                                    let ti = idsOut.baseAddress! + j * k, tv = valsOut.baseAddress! + j * k
                                    for r in 0..<rows {
                                        let v = SparseAutoencoder.dotProduct(dir, b.baseAddress! + r * dIn, dIn)
                                        guard v > tv[k - 1] else { continue }
                                        var p = k - 1
                                        while p > 0 && tv[p - 1] < v { tv[p] = tv[p - 1]; ti[p] = ti[p - 1]; p -= 1 }
                                        tv[p] = v
                                        ti[p] = Int32(first + r)
                                    }
                                    j += threads
                                }
                            }
                        }
                    }
                }
            }
            first += rows
        }
        return (0..<dSAE).map { j in (0..<k).compactMap { topIDs[j * k + $0] >= 0 ? TokenID(topIDs[j * k + $0]) : nil } }
    }
}

/// Running per-feature statistics and top contexts while an index is built.
final class IndexState {
    struct Candidate { var chunk: Int; var value: Float; var context: FeatureContext }
    let dSAE: Int, top: Int
    var tokens = 0
    var chunkNumber = 0
    var activeCount: [Int]
    var sumActivation: [Double]
    var maxActivation: [Float]
    /// Per feature, the best contexts so far, strongest first (ties: the earlier chunk).
    var best: [[Candidate]]
    private var chunkPeak: [Int32]
    private var chunkPeakValue: [Float]
    private var tokenTexts: [String: Int] = [:]

    init(dSAE: Int, top: Int) {
        self.dSAE = dSAE
        self.top = top
        activeCount = [Int](repeating: 0, count: dSAE)
        sumActivation = [Double](repeating: 0, count: dSAE)
        maxActivation = [Float](repeating: 0, count: dSAE)
        best = [[Candidate]](repeating: [], count: dSAE)
        chunkPeak = [Int32](repeating: -1, count: dSAE)
        chunkPeakValue = [Float](repeating: 0, count: dSAE)
    }

    /// idf of a token text over the indexed tokens: ln((N + 1) / (count + 1)).
    func idf(_ token: String) -> Double {
        log(Double(tokens + 1) / Double((tokenTexts[token] ?? 0) + 1))
    }

    static func round3(_ v: Float) -> Float { (v * 1000).rounded() / 1000 }

    func add(chunk: [TokenID], usable: [Bool], encodings: [[(feature: Int32, value: Float)]], document: Int,
             options: FeatureIndexOptions, text: (TokenID) -> String) {
        let n = usable.count
        var touched: [Int] = []
        for t in 0..<n where usable[t] {
            tokens += 1
            tokenTexts[text(chunk[t]), default: 0] += 1
            for (f, v) in encodings[t] {
                let j = Int(f)
                activeCount[j] += 1
                sumActivation[j] += Double(v)
                if v > maxActivation[j] { maxActivation[j] = v }
                if chunkPeak[j] < 0 { touched.append(j); chunkPeak[j] = Int32(t); chunkPeakValue[j] = v }
                else if v > chunkPeakValue[j] { chunkPeak[j] = Int32(t); chunkPeakValue[j] = v }
            }
        }
        for j in touched {
            let p = Int(chunkPeak[j]), v = chunkPeakValue[j]
            chunkPeak[j] = -1
            let list = best[j]
            guard list.count < top || v > list[list.count - 1].value else { continue }
            // The window: position 0 (BOS) is never shown.
            let lo = max(1, p - options.windowBefore), hi = min(n - 1, p + options.windowAfter)
            var tokensOut: [String] = [], acts: [Float] = []
            for t in lo...hi {
                tokensOut.append(text(chunk[t]))
                acts.append(IndexState.round3(encodings[t].first { Int($0.feature) == j }?.value ?? 0))
            }
            let context = FeatureContext(tokens: tokensOut, activations: acts, peak: p - lo, document: document)
            var updated = list
            let at = updated.firstIndex { $0.value < v } ?? updated.count
            updated.insert(Candidate(chunk: chunkNumber, value: v, context: context), at: at)
            if updated.count > top { updated.removeLast() }
            best[j] = updated
        }
        chunkNumber += 1
    }
}
