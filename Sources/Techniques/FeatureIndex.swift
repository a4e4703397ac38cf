import Foundation
import Model

/// One top-activating context of a feature: a window of tokens around the token where the
/// feature peaked in one chunk of the corpus, with the feature's activation on every token
/// (zero where it did not fire), so a viewer can mark and shade them.
public struct FeatureContext: Codable, Sendable, Equatable {
    /// Token texts (UTF-8 of each token's bytes; a character split across tokens shows as U+FFFD).
    public var tokens: [String]
    /// The feature's activation on each token, rounded to 3 decimals.
    public var activations: [Float]
    /// Where in `tokens` the feature peaked.
    public var peak: Int
    /// Document number in the corpus (0-based, in reading order).
    public var document: Int

    public init(tokens: [String], activations: [Float], peak: Int, document: Int) {
        self.tokens = tokens
        self.activations = activations
        self.peak = peak
        self.document = document
    }

    /// The activation at the peak.
    public var activation: Float { activations.indices.contains(peak) ? activations[peak] : 0 }
    /// The window as text.
    public var text: String { tokens.joined() }
    /// Positions in `tokens` where the feature fired (activation > 0): the marked tokens.
    public var markedPositions: [Int] { activations.indices.filter { activations[$0] > 0 } }
}

/// What the index knows about one feature.
public struct FeatureSummary: Codable, Sendable, Equatable {
    public var index: Int
    /// Indexed tokens on which the feature fired (activation > 0).
    public var activeTokens: Int
    /// activeTokens / indexed tokens.
    public var frequency: Double
    public var maxActivation: Float
    /// Mean activation over the tokens where it fired.
    public var meanActivation: Float
    /// The automatic label: its activating tokens, `a / b / c` (see `FeatureIndex.labelMethod`).
    public var label: String
    /// The most characteristic tokens of its top contexts (activation-weighted, idf-scaled).
    public var activatingTokens: [String]
    /// The tokens its decoder direction promotes most through the unembedding (logit lens).
    public var promotedTokens: [String]
    /// Top-activating contexts, strongest first (at most one per chunk).
    public var contexts: [FeatureContext]

    enum CodingKeys: String, CodingKey {
        case index, frequency, label, contexts
        case activeTokens = "active_tokens", maxActivation = "max_activation", meanActivation = "mean_activation"
        case activatingTokens = "activating_tokens", promotedTokens = "promoted_tokens"
    }

    public var isDead: Bool { activeTokens == 0 }

    public init(index: Int, activeTokens: Int, frequency: Double, maxActivation: Float, meanActivation: Float, label: String,
                activatingTokens: [String], promotedTokens: [String], contexts: [FeatureContext]) {
        self.index = index
        self.activeTokens = activeTokens
        self.frequency = frequency
        self.maxActivation = maxActivation
        self.meanActivation = meanActivation
        self.label = label
        self.activatingTokens = activatingTokens
        self.promotedTokens = promotedTokens
        self.contexts = contexts
    }
}

/// Settings of `FeatureIndex.build`.
public struct FeatureIndexOptions: Sendable {
    public var corpus: String
    /// Most tokens to index (chunk position 0 and outliers are not counted).
    public var maxTokens: Int = 100_000
    /// Chunk length in tokens, BOS included.
    public var chunkLength: Int = 128
    /// Contexts kept per feature.
    public var top: Int = 10
    public var windowBefore: Int = 10
    public var windowAfter: Int = 4
    /// Tokens whose activation norm exceeds this multiple of the chunk's median are not indexed (as in training).
    public var outlierFactor: Float = 10
    public var labelTokens: Int = 3
    public var promotedTokens: Int = 3
    /// Seconds between progress lines.
    public var progressInterval: Double = 5

    public init(corpus: String) { self.corpus = corpus }
}

/// A hit of `FeatureIndex.search`.
public struct FeatureSearchHit: Sendable, Equatable, Codable {
    public var feature: Int
    public var score: Double
    public var label: String
    public var frequency: Double
    /// Whether the query matched the label (activating or promoted tokens).
    public var matchedLabel: Bool
    /// How many of its top contexts contain a query term.
    public var matchedContexts: Int
    /// The strongest context that matched, if any.
    public var context: FeatureContext?

    enum CodingKeys: String, CodingKey {
        case feature, score, label, frequency, context
        case matchedLabel = "matched_label", matchedContexts = "matched_contexts"
    }
}

/// A feature's summary with its nearest features by decoder cosine.
public struct FeatureDetail: Sendable, Equatable {
    public var summary: FeatureSummary
    public var neighbours: [(neighbour: FeatureNeighbour, label: String)]

    public static func == (a: FeatureDetail, b: FeatureDetail) -> Bool {
        a.summary == b.summary && a.neighbours.map(\.neighbour) == b.neighbours.map(\.neighbour)
            && a.neighbours.map(\.label) == b.neighbours.map(\.label)
    }
}

/// Per-feature top-activating contexts, activation frequency and automatic labels of a sparse
/// autoencoder over a text corpus, stored beside the SAE as `feature_index.json`.
public struct FeatureIndex: Codable, Sendable, Equatable {
    public static let fileName = "feature_index.json"
    public static let formatName = "workbench-feature-index"
    public static let currentVersion = 1
    public static let labelMethod = "label = activating tokens: the tokens the feature fired on in its top contexts, weighted by "
        + "activation / max activation and by idf = ln((N+1)/(count+1)) over the indexed tokens, case and surrounding space folded, "
        + "those at least half the best's weight; promoted tokens (kept beside the label): top of W_U · (g ⊙ W_dec[f]), "
        + "the logit lens through the final RMSNorm gain g"

    public var format: String
    public var version: Int
    public var hook: String
    public var dIn: Int
    public var dSAE: Int
    /// `SparseAutoencoder.weightsFingerprint` of the SAE it was built for.
    public var saeFingerprint: String
    public var model: String
    public var corpus: String
    /// Tokens indexed (chunk position 0 and skipped outliers excluded).
    public var tokens: Int
    public var documents: Int
    public var chunks: Int
    public var chunkLength: Int
    public var top: Int
    public var windowBefore: Int
    public var windowAfter: Int
    public var skippedOutliers: Int
    public var seconds: Double
    public var labelMethod: String
    public var features: [FeatureSummary]

    enum CodingKeys: String, CodingKey {
        case format, version, hook, model, corpus, tokens, documents, chunks, top, seconds, features
        case dIn = "d_in", dSAE = "d_sae", saeFingerprint = "sae_fingerprint", chunkLength = "chunk_length"
        case windowBefore = "window_before", windowAfter = "window_after", skippedOutliers = "skipped_outliers"
        case labelMethod = "label_method"
    }

    public enum Failure: Error, CustomStringConvertible, Equatable {
        case missing(String)
        case malformed(String)
        case mismatch(String)
        case badOption(String)
        case noHookPoint(String?)
        case noFeature(Int, count: Int)
        public var description: String {
            switch self {
            case .missing(let p): return "no feature index at \(p): build one with `workbench sae index --sae DIR --corpus PATH`"
            case .malformed(let m): return "\(FeatureIndex.fileName): \(m)"
            case .mismatch(let m): return "\(FeatureIndex.fileName) does not belong to this SAE: \(m); rebuild it with `workbench sae index`"
            case .badOption(let m): return m
            case .noHookPoint(let name?): return "the SAE's hook '\(name)' is not a hook point of this workbench"
            case .noHookPoint(nil): return "the SAE's cfg.json names no hook (metadata.hook_name or hook_name)"
            case .noFeature(let f, let n): return "feature \(f) is out of range: the SAE has features 0...\(n - 1)"
            }
        }
    }

    public init(format: String = FeatureIndex.formatName, version: Int = FeatureIndex.currentVersion, hook: String, dIn: Int, dSAE: Int,
                saeFingerprint: String, model: String, corpus: String, tokens: Int, documents: Int, chunks: Int, chunkLength: Int,
                top: Int, windowBefore: Int, windowAfter: Int, skippedOutliers: Int, seconds: Double,
                labelMethod: String = FeatureIndex.labelMethod, features: [FeatureSummary]) {
        self.format = format
        self.version = version
        self.hook = hook
        self.dIn = dIn
        self.dSAE = dSAE
        self.saeFingerprint = saeFingerprint
        self.model = model
        self.corpus = corpus
        self.tokens = tokens
        self.documents = documents
        self.chunks = chunks
        self.chunkLength = chunkLength
        self.top = top
        self.windowBefore = windowBefore
        self.windowAfter = windowAfter
        self.skippedOutliers = skippedOutliers
        self.seconds = seconds
        self.labelMethod = labelMethod
        self.features = features
    }

    /// The alive features (fired at least once).
    public var aliveCount: Int { features.filter { !$0.isDead }.count }

    // MARK: Storage

    public static func url(in directory: URL) -> URL { directory.appendingPathComponent(fileName) }

    /// Writes the index as JSON (atomically).
    public func save(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        try encoder.encode(self).write(to: url, options: .atomic)
    }

    /// Reads and validates an index; with `sae`, also checks it was built for that SAE.
    public static func load(from url: URL, for sae: SparseAutoencoder? = nil) throws -> FeatureIndex {
        guard FileManager.default.fileExists(atPath: url.path) else { throw Failure.missing(url.path) }
        guard let data = try? Data(contentsOf: url) else { throw Failure.malformed("cannot read \(url.path)") }
        let index: FeatureIndex
        do {
            index = try JSONDecoder().decode(FeatureIndex.self, from: data)
        } catch let e as DecodingError {
            throw Failure.malformed(Self.describe(e))
        } catch {
            throw Failure.malformed("not valid JSON")
        }
        try index.validate()
        if let sae { try index.check(against: sae) }
        return index
    }

    /// The index beside an SAE (`feature_index.json` in its directory), checked against it.
    public static func load(besides sae: SparseAutoencoder) throws -> FeatureIndex {
        try load(from: url(in: sae.directory), for: sae)
    }

    static func describe(_ e: DecodingError) -> String {
        func path(_ p: [CodingKey]) -> String {
            var s = ""
            for k in p {
                if let i = k.intValue { s += "[\(i)]" } else { s += (s.isEmpty ? "" : ".") + k.stringValue }
            }
            return s.isEmpty ? "top level" : s
        }
        switch e {
        case .keyNotFound(let k, let c): return "\(path(c.codingPath + [k])): missing"
        case .typeMismatch(_, let c): return "\(path(c.codingPath)): wrong type"
        case .valueNotFound(_, let c): return "\(path(c.codingPath)): null"
        case .dataCorrupted(let c): return c.codingPath.isEmpty ? "not valid JSON" : "\(path(c.codingPath)): \(c.debugDescription)"
        @unknown default: return "unreadable"
        }
    }

    /// Checks the structure: the format name and version, one summary per feature in order,
    /// counts and frequencies that agree, contexts whose tokens and activations line up.
    public func validate() throws {
        func bad(_ m: String) -> Failure { .malformed(m) }
        guard format == Self.formatName else { throw bad("format is '\(format)', expected '\(Self.formatName)'") }
        guard version == Self.currentVersion else { throw bad("version \(version) is not supported (this workbench reads \(Self.currentVersion))") }
        guard HookPoint(name: hook) != nil else { throw bad("hook '\(hook)' is not a hook point name") }
        guard dIn > 0, dSAE > 0 else { throw bad("d_in and d_sae must be positive") }
        guard tokens >= 0, documents >= 0, chunks >= 0, skippedOutliers >= 0, top >= 0, windowBefore >= 0, windowAfter >= 0, chunkLength >= 2 else {
            throw bad("counts must be non-negative (chunk_length >= 2)")
        }
        guard features.count == dSAE else { throw bad("\(features.count) feature entries for d_sae \(dSAE)") }
        for (i, f) in features.enumerated() {
            let at = "features[\(i)]"
            guard f.index == i else { throw bad("\(at): index is \(f.index), expected \(i)") }
            guard f.activeTokens >= 0 && f.activeTokens <= tokens else { throw bad("\(at): active_tokens \(f.activeTokens) outside 0...\(tokens)") }
            guard f.frequency.isFinite, f.frequency >= 0, f.frequency <= 1 else { throw bad("\(at): frequency \(f.frequency) outside [0, 1]") }
            guard f.maxActivation.isFinite, f.meanActivation.isFinite else { throw bad("\(at): activations must be finite") }
            guard f.contexts.count <= max(top, 0) else { throw bad("\(at): \(f.contexts.count) contexts, more than top \(top)") }
            for (c, context) in f.contexts.enumerated() {
                let cat = "\(at).contexts[\(c)]"
                guard !context.tokens.isEmpty else { throw bad("\(cat): no tokens") }
                guard context.tokens.count == context.activations.count else {
                    throw bad("\(cat): \(context.tokens.count) tokens but \(context.activations.count) activations")
                }
                guard context.activations.allSatisfy({ $0.isFinite }) else { throw bad("\(cat): activations must be finite") }
                guard context.tokens.indices.contains(context.peak) else { throw bad("\(cat): peak \(context.peak) outside the window") }
                guard context.document >= 0 else { throw bad("\(cat): negative document") }
            }
        }
    }

    /// Whether the index was built for this SAE (hook, shape and decoder weights).
    public func check(against sae: SparseAutoencoder) throws {
        guard sae.dSAE == dSAE, sae.dIn == dIn else {
            throw Failure.mismatch("the index has d_in \(dIn), d_sae \(dSAE); the SAE \(sae.dIn), \(sae.dSAE)")
        }
        if let name = sae.hookName, name != hook { throw Failure.mismatch("the index is for hook \(hook), the SAE reads \(name)") }
        let fingerprint = sae.weightsFingerprint
        guard fingerprint == saeFingerprint else {
            throw Failure.mismatch("it was built for decoder weights \(saeFingerprint), these are \(fingerprint)")
        }
    }

    // MARK: Queries

    /// A feature's summary, or an error naming the valid range.
    public func summary(_ feature: Int) throws -> FeatureSummary {
        guard features.indices.contains(feature) else { throw Failure.noFeature(feature, count: features.count) }
        return features[feature]
    }

    /// A feature's top contexts and frequency, with its `nearest` nearest features by decoder
    /// cosine when the SAE is given.
    public func detail(feature: Int, sae: SparseAutoencoder? = nil, nearest: Int = 10) throws -> FeatureDetail {
        let s = try summary(feature)
        var neighbours: [(FeatureNeighbour, String)] = []
        if let sae {
            try check(against: sae)
            neighbours = sae.nearestFeatures(to: feature, count: nearest).map { ($0, features[$0.index].label) }
        }
        return FeatureDetail(summary: s, neighbours: neighbours)
    }

    /// Lower-cased words of a query (letters, digits and underscores; other characters separate).
    static func terms(_ query: String) -> [String] {
        var out: [String] = []
        var current = ""
        for ch in query.lowercased() {
            if ch.isLetter || ch.isNumber || ch == "_" { current.append(ch) } else if !current.isEmpty { out.append(current); current = "" }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    /// Folds a token for comparison: lower case, surrounding whitespace removed.
    static func fold(_ token: String) -> String { token.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() }

    /// Features ranked by how well `query` matches their label and their top contexts.
    ///
    /// Per query term: 3 when it is one of the label's activating tokens, 2 when one of its promoted
    /// tokens, 1 when elsewhere in the label; plus, per top context, 1 when the term is the token
    /// the feature peaked on, 0.5 when it is another token the feature fired on, and 0.1 when the
    /// context text merely contains it. The whole query found verbatim in a context adds 0.5 more.
    /// A query that is a feature number (`123` or `#123`) puts that feature first. Ties go to the
    /// more frequent feature, then the lower index.
    public func search(_ query: String, limit: Int = 20) -> [FeatureSearchHit] {
        let terms = Self.terms(query)
        let phrase = query.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        guard !terms.isEmpty || !phrase.isEmpty, limit > 0 else { return [] }
        let numeric = Int(phrase.hasPrefix("#") ? String(phrase.dropFirst()) : phrase)
        var hits: [FeatureSearchHit] = []
        for f in features {
            var score = 0.0
            var matchedLabel = false
            if let numeric, numeric == f.index { score += 1000 }
            let activating = Set(f.activatingTokens.map(Self.fold)), promoted = Set(f.promotedTokens.map(Self.fold))
            let labelTerms = Set(Self.terms(f.label))
            for t in terms {
                if activating.contains(t) { score += 3; matchedLabel = true }
                else if promoted.contains(t) { score += 2; matchedLabel = true }
                else if labelTerms.contains(t) { score += 1; matchedLabel = true }
            }
            var matchedContexts = 0
            var best: FeatureContext? = nil
            for c in f.contexts {
                var contextScore = 0.0
                let lower = c.text.lowercased()
                for t in terms where lower.contains(t) {
                    if Self.fold(c.tokens[c.peak]) == t { contextScore += 1 }
                    else if c.markedPositions.contains(where: { Self.fold(c.tokens[$0]) == t }) { contextScore += 0.5 }
                    else { contextScore += 0.1 }
                }
                if terms.count > 1 || terms.isEmpty, !phrase.isEmpty, lower.contains(phrase) { contextScore += 0.5 }
                if contextScore > 0 {
                    matchedContexts += 1
                    if best == nil { best = c }
                    score += contextScore
                }
            }
            if score > 0 {
                hits.append(FeatureSearchHit(feature: f.index, score: score, label: f.label, frequency: f.frequency,
                                             matchedLabel: matchedLabel, matchedContexts: matchedContexts, context: best))
            }
        }
        hits.sort { a, b in
            if a.score != b.score { return a.score > b.score }
            if a.frequency != b.frequency { return a.frequency > b.frequency }
            return a.feature < b.feature
        }
        return Array(hits.prefix(limit))
    }
}
