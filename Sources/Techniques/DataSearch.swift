import Foundation

// Training-data search: BM25 keyword search over the organism's training corpus (the synthetic
// documents, the haystack they are mixed into, the SFT transcripts).
//
// Query syntax (`DataSearchQuery.parse`):
//   reward model         bare words: any of them, ranked by BM25; a document matching more of the
//                        query's clauses ranks higher (the sum is scaled by matched/total clauses)
//   "reward model bias"  a phrase: the words next to each other, in order
//   rew*                 a prefix (at least 2 characters), also inside phrases: "reward model*"
//   9-1-1, RLHF's        a bare word with punctuation inside is a phrase of its parts ("9 1 1")
//   -chocolate           leave out documents matching a word, phrase or prefix
//   source:sft           only documents whose source starts with NAME (case-insensitive; several
//                        source: filters are alternatives); -source:NAME leaves them out
//
// Scoring: BM25 with k1 = 1.2, b = 0.75 and idf = ln(1 + (N - df + 0.5) / (df + 0.5)). Each clause
// is scored as one term: a prefix's frequency is the sum over the words it expands to, a phrase's the
// number of places it occurs; df is the number of documents the clause matches.
//
// Semantic search (next): embed fixed-size chunks (about 128 tokens, with overlap) of every document
// in-process with the engine already here, as the mean of a middle layer's residual stream of the
// model (or of a small embedding model once the engine runs one), L2-normalised and stored as f16
// beside this index (documents x chunks x 576 values; about 20 MB per 10k chunks). A query is embedded
// the same way and ranked by cosine with the existing SIMD dot-product kernels in one pass (brute force
// is fast enough at this size); keyword and semantic rankings are then fused by reciprocal rank.

/// A parsed search query.
public struct DataSearchQuery: Sendable, Equatable {
    /// How one word of a clause matches an indexed term.
    public enum Matcher: Sendable, Equatable {
        case term(String)
        case prefix(String)

        func matches(_ term: String) -> Bool {
            switch self {
            case .term(let t): return t == term
            case .prefix(let p): return term.utf8.starts(with: p.utf8)
            }
        }
    }

    /// A word, a prefix or a phrase (more than one matcher, in order).
    public struct Clause: Sendable, Equatable {
        public var matchers: [Matcher]
        /// The clause as written, for messages.
        public var text: String
    }

    public var clauses: [Clause] = []
    public var excluded: [Clause] = []
    /// Lowercased source prefixes: a document must match one (when there are any).
    public var sources: [String] = []
    public var excludedSources: [String] = []

    public static let maxCharacters = 1000
    public static let maxClauses = 64
    public static let minPrefixScalars = 2

    public static func parse(_ query: String) throws -> DataSearchQuery {
        guard query.count <= maxCharacters else {
            throw DataSearchError.badQuery("longer than \(maxCharacters) characters")
        }
        var result = DataSearchQuery()
        var i = query.startIndex
        while i < query.endIndex {
            if query[i].isWhitespace { i = query.index(after: i); continue }
            var negated = false
            if query[i] == "-" {
                let next = query.index(after: i)
                if next < query.endIndex && !query[next].isWhitespace {
                    negated = true
                    i = next
                }
            }
            let text: String
            if query[i] == "\"" {
                let open = query.index(after: i)
                guard let close = query[open...].firstIndex(of: "\"") else {
                    throw DataSearchError.badQuery("unclosed quote")
                }
                text = String(query[open..<close])
                i = query.index(after: close)
            } else {
                let end = query[i...].firstIndex(where: { $0.isWhitespace }) ?? query.endIndex
                let word = String(query[i..<end])
                i = end
                if word.lowercased().hasPrefix("source:") {
                    let name = String(word.dropFirst("source:".count)).lowercased()
                    guard !name.isEmpty else { throw DataSearchError.badQuery("source: needs a name") }
                    if negated { result.excludedSources.append(name) } else { result.sources.append(name) }
                    continue
                }
                text = word
            }
            let clause = try makeClause(text)
            if negated { result.excluded.append(clause) } else { result.clauses.append(clause) }
        }
        guard !result.clauses.isEmpty else {
            throw DataSearchError.badQuery(result.excluded.isEmpty && result.sources.isEmpty && result.excludedSources.isEmpty
                                           ? "empty query" : "nothing to search for (only exclusions or source: filters)")
        }
        guard result.clauses.count + result.excluded.count <= maxClauses else {
            throw DataSearchError.badQuery("more than \(maxClauses) words or phrases")
        }
        return result
    }

    /// The matchers of a word or phrase: its tokens, each a prefix when a `*` follows it.
    static func makeClause(_ text: String) throws -> Clause {
        var matchers: [Matcher] = []
        for token in SearchTokenizer.tokens(in: text) {
            if token.range.upperBound < text.endIndex && text.unicodeScalars[token.range.upperBound] == "*" {
                guard token.term.unicodeScalars.count >= minPrefixScalars else {
                    throw DataSearchError.badQuery("prefix \(token.term)* is shorter than \(minPrefixScalars) characters")
                }
                matchers.append(.prefix(token.term))
            } else {
                matchers.append(.term(token.term))
            }
        }
        guard !matchers.isEmpty else { throw DataSearchError.badQuery("\"\(text)\" has no words to search for") }
        return Clause(matchers: matchers, text: text)
    }
}

/// A character range in a snippet, counted in Characters (extended grapheme clusters); as JSON `[start, length]`.
public struct SnippetHighlight: Codable, Sendable, Equatable {
    public var start: Int
    public var length: Int

    public init(start: Int, length: Int) {
        self.start = start
        self.length = length
    }

    public init(from decoder: Decoder) throws {
        var c = try decoder.unkeyedContainer()
        start = try c.decode(Int.self)
        length = try c.decode(Int.self)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.unkeyedContainer()
        try c.encode(start)
        try c.encode(length)
    }

    /// The highlighted text of `snippet`.
    public func text(in snippet: String) -> String {
        let from = snippet.index(snippet.startIndex, offsetBy: start, limitedBy: snippet.endIndex) ?? snippet.endIndex
        let to = snippet.index(from, offsetBy: length, limitedBy: snippet.endIndex) ?? snippet.endIndex
        return String(snippet[from..<to])
    }
}

public struct DataSearchHit: Codable, Sendable, Equatable {
    public var id: String
    public var source: String
    public var title: String
    public var score: Double
    /// One line of text around the best cluster of hits, "…" where it was cut; whitespace runs are single spaces.
    public var snippet: String
    /// Where the query's words, prefixes and phrases are in `snippet`, in order, not overlapping.
    public var highlights: [SnippetHighlight]
    /// Each ranking's score and rank for this document (a mode's own, and in hybrid mode both).
    public var scores: HitScores?
    /// The chunk whose embedding matched best (semantic and hybrid modes).
    public var chunk: MatchedChunk?

    public init(id: String, source: String, title: String, score: Double, snippet: String, highlights: [SnippetHighlight],
                scores: HitScores? = nil, chunk: MatchedChunk? = nil) {
        self.id = id; self.source = source; self.title = title; self.score = score
        self.snippet = snippet; self.highlights = highlights; self.scores = scores; self.chunk = chunk
    }
}

extension DataSearchHit {
    /// "bm25 4.49 #3 · cosine 0.43 #1", with the fused score first when both rankings hold the hit,
    /// or the score alone when the hit carries no rankings: the CLI's, the TUI's and the agent's text.
    public var scoreSummary: String {
        var parts: [String] = []
        if let b = scores?.bm25 { parts.append(String(format: "bm25 %.2f", b) + (scores?.bm25Rank.map { " #\($0)" } ?? "")) }
        if let c = scores?.semantic { parts.append(String(format: "cosine %.2f", c) + (scores?.semanticRank.map { " #\($0)" } ?? "")) }
        if parts.count > 1 { parts.insert(String(format: "fused %.4f", score), at: 0) }
        return parts.isEmpty ? String(format: "%.2f", score) : parts.joined(separator: " · ")
    }
}

/// A hit's place in each ranking: BM25's score, the best chunk's cosine, and their 1-based ranks.
public struct HitScores: Codable, Sendable, Equatable {
    public var bm25: Double?
    public var semantic: Double?
    public var bm25Rank: Int?
    public var semanticRank: Int?

    public init(bm25: Double? = nil, semantic: Double? = nil, bm25Rank: Int? = nil, semanticRank: Int? = nil) {
        self.bm25 = bm25; self.semantic = semantic; self.bm25Rank = bm25Rank; self.semanticRank = semanticRank
    }
}

/// The chunk of a document that matched a semantic query, and where it is in the document's
/// searchable text (the title line, then the text), counted in Characters.
public struct MatchedChunk: Codable, Sendable, Equatable {
    public var start: Int
    public var length: Int
    public var text: String
}

public struct DataSearchResults: Codable, Sendable, Equatable {
    public var query: String
    /// How the documents were ranked.
    public var mode: DataSearchMode
    /// How many documents match (before the limit): for BM25 those with a query word; for semantic
    /// search every document with text (all have a cosine); for hybrid the union of both.
    public var total: Int
    public var hits: [DataSearchHit]
    /// Why a mode other than the one asked for was used, or what to build for a better one.
    public var note: String?

    public init(query: String, mode: DataSearchMode, total: Int, hits: [DataSearchHit], note: String? = nil) {
        self.query = query; self.mode = mode; self.total = total; self.hits = hits; self.note = note
    }
}

extension DataSearchIndex {
    public static let k1 = 1.2
    public static let b = 0.75
    public static let maxLimit = 1000

    /// BM25 inverse document frequency (Lucene's form, never negative).
    public static func idf(documentFrequency df: Int, documents n: Int) -> Double {
        log(1 + (Double(n) - Double(df) + 0.5) / (Double(df) + 0.5))
    }

    /// BM25's term weight for a clause occurring `frequency` times in a document of `length` tokens.
    public static func termWeight(frequency: Int, length: Int, averageLength: Double) -> Double {
        let f = Double(frequency)
        let norm = averageLength > 0 ? Double(length) / averageLength : 1
        return f * (k1 + 1) / (f + k1 * (1 - b + b * norm))
    }

    /// Searches with the query syntax above (BM25); the `limit` best hits with snippets.
    /// `search(_:limit:mode:semantic:)` adds the semantic and hybrid modes.
    public func search(_ query: String, limit: Int = 10) throws -> DataSearchResults {
        guard limit >= 1 && limit <= Self.maxLimit else { throw DataSearchError.badQuery("limit must be 1...\(Self.maxLimit)") }
        let parsed = try DataSearchQuery.parse(query)
        let reader = TextReader(self)
        let ranked = try bm25Ranking(parsed, reader: reader)
        var hits: [DataSearchHit] = []
        for (rank, (d, score)) in ranked.prefix(limit).enumerated() {
            var hit = try keywordHit(d, clauses: parsed.clauses, reader: reader, score: score)
            hit.scores = HitScores(bm25: score, bm25Rank: rank + 1)
            hits.append(hit)
        }
        return DataSearchResults(query: query, mode: .bm25, total: ranked.count, hits: hits)
    }

    /// A hit for document `d` with a snippet around the clauses' matches.
    func keywordHit(_ d: Int, clauses: [DataSearchQuery.Clause], reader: TextReader, score: Double) throws -> DataSearchHit {
        let rec = document(at: d)
        let (snippet, highlights) = Self.snippet(of: try reader.document(d).searchableText, clauses: clauses)
        return DataSearchHit(id: rec.id, source: rec.source, title: rec.title, score: score, snippet: snippet, highlights: highlights)
    }

    /// Every document matching the query's clauses, filters applied, by BM25 score (best first).
    func bm25Ranking(_ parsed: DataSearchQuery, reader: TextReader) throws -> [(doc: Int, score: Double)] {
        var termCache: [Int: [String]] = [:]
        func terms(_ d: Int) throws -> [String] {
            if let cached = termCache[d] { return cached }
            let t = SearchTokenizer.terms(in: try reader.document(d).searchableText)
            termCache[d] = t
            return t
        }

        let positives = try parsed.clauses.map { try frequencies($0, terms: terms) }
        let excludedDocs = try excludedDocuments(parsed, terms: terms)

        var scores: [Int: Double] = [:]
        var matched: [Int: Int] = [:]
        let average = averageDocumentLength
        for freq in positives {
            let idf = Self.idf(documentFrequency: freq.count, documents: documentCount)
            for (d, f) in freq {
                scores[d, default: 0] += idf * Self.termWeight(frequency: f, length: documentTokens(d), averageLength: average)
                matched[d, default: 0] += 1
            }
        }
        var ranked: [(doc: Int, score: Double)] = []
        for (d, s) in scores where !excludedDocs.contains(d) && passesSourceFilters(d, parsed) {
            ranked.append((d, s * Double(matched[d]!) / Double(positives.count)))
        }
        ranked.sort { $0.score > $1.score || ($0.score == $1.score && $0.doc < $1.doc) }
        return ranked
    }

    /// The documents a query's -exclusions leave out.
    func excludedDocuments(_ parsed: DataSearchQuery, terms: (Int) throws -> [String]) throws -> Set<Int> {
        var excludedDocs = Set<Int>()
        for clause in parsed.excluded { excludedDocs.formUnion(try frequencies(clause, terms: terms).keys) }
        return excludedDocs
    }

    /// Whether document `d` passes the query's source: and -source: filters.
    func passesSourceFilters(_ d: Int, _ parsed: DataSearchQuery) -> Bool {
        if parsed.sources.isEmpty && parsed.excludedSources.isEmpty { return true }
        let source = documentSource(d).lowercased()
        if !parsed.sources.isEmpty && !parsed.sources.contains(where: { source.hasPrefix($0) }) { return false }
        return !parsed.excludedSources.contains(where: { source.hasPrefix($0) })
    }

    /// Document -> how often the clause occurs in it, over the whole corpus.
    func frequencies(_ clause: DataSearchQuery.Clause, terms: (Int) throws -> [String]) throws -> [Int: Int] {
        func postings(_ m: DataSearchQuery.Matcher) -> [Int: Int] {
            var out: [Int: Int] = [:]
            let rows: Range<Int>
            switch m {
            case .term(let t): rows = termRows(t, prefix: false)
            case .prefix(let p): rows = termRows(p, prefix: true)
            }
            for row in rows { forEachPosting(ofRow: row) { d, f in out[d, default: 0] += f } }
            return out
        }
        if clause.matchers.count == 1 { return postings(clause.matchers[0]) }
        // A phrase: documents holding every word, then the words in order, counted from the text.
        var candidates = Set(postings(clause.matchers[0]).keys)
        for m in clause.matchers.dropFirst() where !candidates.isEmpty {
            candidates.formIntersection(postings(m).keys)
        }
        var out: [Int: Int] = [:]
        for d in candidates.sorted() {
            let n = Self.phraseStarts(clause.matchers, in: try terms(d)).count
            if n > 0 { out[d] = n }
        }
        return out
    }

    /// Positions where the matchers match consecutive terms.
    static func phraseStarts(_ matchers: [DataSearchQuery.Matcher], in terms: [String]) -> [Int] {
        guard terms.count >= matchers.count else { return [] }
        var out: [Int] = []
        for i in 0...(terms.count - matchers.count) where matchers.indices.allSatisfy({ matchers[$0].matches(terms[i + $0]) }) {
            out.append(i)
        }
        return out
    }

    /// Token spans (first, last) where a clause matches, in order of position.
    static func hitSpans(_ tokens: [SearchToken], clauses: [DataSearchQuery.Clause]) -> [(first: Int, last: Int, clause: Int)] {
        let terms = tokens.map(\.term)
        var spans: [(first: Int, last: Int, clause: Int)] = []
        for (c, clause) in clauses.enumerated() {
            for start in phraseStarts(clause.matchers, in: terms) {
                spans.append((start, start + clause.matchers.count - 1, c))
            }
        }
        return spans.sorted { ($0.first, $0.last) < ($1.first, $1.last) }
    }

    static let snippetWindowBytes = 200
    static let snippetLeadBytes = 80
    static let snippetBytes = 280

    /// A one-line excerpt around the densest cluster of hits (most distinct clauses within a window),
    /// and where the hits are in it.
    public static func snippet(of text: String, clauses: [DataSearchQuery.Clause]) -> (String, [SnippetHighlight]) {
        let tokens = SearchTokenizer.tokens(in: text)
        let spans = hitSpans(tokens, clauses: clauses)
        let utf8 = text.utf8
        func offset(_ i: String.Index) -> Int { utf8.distance(from: utf8.startIndex, to: i) }

        var anchorStart = 0, anchorEnd = 0
        if !spans.isEmpty {
            let starts = spans.map { offset(tokens[$0.first].range.lowerBound) }
            var best = -1, bestIndex = 0
            for a in spans.indices {
                var seen = Set<Int>()
                var b = a
                while b < spans.count && starts[b] - starts[a] <= snippetWindowBytes { seen.insert(spans[b].clause); b += 1 }
                if seen.count > best { best = seen.count; bestIndex = a }
            }
            anchorStart = starts[bestIndex]
            anchorEnd = offset(tokens[spans[bestIndex].last].range.upperBound)
        }
        var start = max(0, anchorStart - snippetLeadBytes)
        var end = min(utf8.count, max(start + snippetBytes, anchorEnd + 20))
        let bytes = Array(utf8)
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x09 || b == 0x0D }
        // Cut at whitespace when there is some near, so no word is split; never inside a character.
        if start > 0 {
            var s = start
            while s < anchorStart && s - start < 40 && !isSpace(bytes[s - 1]) { s += 1 }
            if s == anchorStart || isSpace(bytes[s - 1]) { start = s }
        }
        if end < bytes.count {
            var e = end
            while e > anchorEnd && end - e < 40 && !isSpace(bytes[e]) { e -= 1 }
            if e == anchorEnd || isSpace(bytes[e]) { end = e }
        }
        while start > 0 && (bytes[start] & 0xC0) == 0x80 { start -= 1 }
        while end < bytes.count && (bytes[end] & 0xC0) == 0x80 { end += 1 }

        var snippet = String(decoding: bytes[start..<end], as: UTF8.self)
            .split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
        if start > 0 { snippet = "…" + snippet }
        if end < bytes.count { snippet += "…" }

        let snippetTokens = SearchTokenizer.tokens(in: snippet)
        var highlights: [SnippetHighlight] = []
        for span in hitSpans(snippetTokens, clauses: clauses) {
            let from = snippet.distance(from: snippet.startIndex, to: snippetTokens[span.first].range.lowerBound)
            let to = snippet.distance(from: snippet.startIndex, to: snippetTokens[span.last].range.upperBound)
            if let last = highlights.last, from <= last.start + last.length {
                highlights[highlights.count - 1].length = max(last.length, to - last.start)
            } else {
                highlights.append(SnippetHighlight(start: from, length: to - from))
            }
        }
        return (snippet, highlights)
    }
}
