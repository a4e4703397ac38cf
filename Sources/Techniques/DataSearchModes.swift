import Foundation
import Model

/// How training-data search ranks documents.
///   bm25      keywords (the query syntax of DataSearchQuery)
///   semantic  meaning: the cosine of the query's embedding with each document's best chunk
///   hybrid    both, fused by reciprocal rank: score = sum over the rankings of 1 / (60 + rank)
public enum DataSearchMode: String, Codable, Sendable, CaseIterable {
    case bm25, semantic, hybrid
}

/// A semantic index with the embedding model that made it: what semantic and hybrid search need.
public final class SemanticSearcher: @unchecked Sendable {
    public let index: SemanticIndex
    public let embedder: SentenceEmbedder

    public init(index: SemanticIndex, embedder: SentenceEmbedder) {
        self.index = index
        self.embedder = embedder
    }

    /// The semantic index beside a corpus's shards with the embedder it needs; nil with a sentence
    /// saying why (and how to build it) when there is none, it is stale, or the model is missing.
    public static func open(corpus: DataSearchIndex, directory: URL,
                            embedderFolder: URL = SentenceEmbedder.defaultFolder) -> (SemanticSearcher?, String) {
        let url = directory.appendingPathComponent(SemanticIndex.fileName)
        let build = "`make semantic-index` (or `workbench data index --semantic`) builds it"
        guard FileManager.default.fileExists(atPath: url.path) else {
            return (nil, "no semantic index at \(url.path): \(build)")
        }
        let index: SemanticIndex
        do { index = try SemanticIndex.load(from: url) } catch { return (nil, "\(error); \(build)") }
        if let why = index.mismatch(corpus: corpus, embedder: nil) {
            return (nil, "semantic index \(url.path) is stale (\(why)): \(build) again")
        }
        let embedder: SentenceEmbedder
        do { embedder = try SentenceEmbedder(folder: embedderFolder) } catch { return (nil, "\(error)") }
        if let why = index.mismatch(corpus: corpus, embedder: embedder) {
            return (nil, "semantic index \(url.path) does not fit \(embedderFolder.path): \(why); \(build) again")
        }
        return (SemanticSearcher(index: index, embedder: embedder), "")
    }

    /// The embedding of a query or an example text.
    func embed(_ text: String) -> [Float] {
        embedder.embedQuery(text, overlap: index.parameters.overlapPieces)
    }
}

extension DataSearchIndex {
    /// The reciprocal-rank-fusion constant (Cormack et al. 2009).
    public static let fusionK = 60.0
    /// The most characters of an example text (search by example) that are embedded.
    public static let maxExampleCharacters = 200_000

    /// The shards' names, sizes and content hashes (or, for documents in memory, their ids and
    /// texts) and the count, hashed: computed once when an index is made or loaded.
    static func contentKey(store: DocumentStore, shards: [ShardStamp], documents: Int) -> UInt64 {
        var h = FNV1a64()
        switch store {
        case .shards:
            for s in shards {
                h.add(Data(s.name.utf8))
                withUnsafeBytes(of: s.size.littleEndian) { h.add($0) }
                withUnsafeBytes(of: s.hash.littleEndian) { h.add($0) }
            }
        case .memory(let list):
            for d in list {
                h.add(Data(d.id.utf8))
                h.add(Data(d.searchableText.utf8))
            }
        }
        withUnsafeBytes(of: UInt64(documents).littleEndian) { h.add($0) }
        return h.value
    }

    /// Searches in `mode`. Semantic and hybrid need `semantic`; in semantic mode the query is plain
    /// text except for source:NAME, -source:NAME and -word filters, which apply as in BM25.
    public func search(_ query: String, limit: Int = 10, mode: DataSearchMode, semantic: SemanticSearcher?) throws -> DataSearchResults {
        if mode == .bm25 { return try search(query, limit: limit) }
        guard limit >= 1 && limit <= Self.maxLimit else { throw DataSearchError.badQuery("limit must be 1...\(Self.maxLimit)") }
        guard let semantic else { throw DataSearchError.badQuery("\(mode.rawValue) search needs the semantic index") }
        guard query.count <= DataSearchQuery.maxCharacters else {
            throw DataSearchError.badQuery("longer than \(DataSearchQuery.maxCharacters) characters")
        }
        let reader = TextReader(self)
        if mode == .semantic {
            let (text, filters) = try DataSearchQuery.semanticFilters(query)
            guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw DataSearchError.badQuery("empty query") }
            return try semanticResults(query: query, vector: semantic.embed(text), filters: filters, limit: limit,
                                       semantic: semantic, reader: reader)
        }
        // Hybrid: both rankings of every document they hold, fused.
        let parsed = try DataSearchQuery.parse(query)
        let keyword = try bm25Ranking(parsed, reader: reader)
        let (text, _) = try DataSearchQuery.semanticFilters(query)
        let meaning = try semanticRanking(semantic.embed(text), filters: parsed, semantic: semantic, reader: reader)
        var fused: [Int: Double] = [:]
        var scores: [Int: HitScores] = [:]
        for (rank, (d, s)) in keyword.enumerated() {
            fused[d, default: 0] += 1 / (Self.fusionK + Double(rank + 1))
            scores[d, default: HitScores()].bm25 = s
            scores[d, default: HitScores()].bm25Rank = rank + 1
        }
        var bestChunk: [Int: Int] = [:]
        for (rank, m) in meaning.enumerated() {
            fused[m.document, default: 0] += 1 / (Self.fusionK + Double(rank + 1))
            scores[m.document, default: HitScores()].semantic = Double(m.score)
            scores[m.document, default: HitScores()].semanticRank = rank + 1
            bestChunk[m.document] = m.chunk
        }
        let ranked = fused.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }
        var hits: [DataSearchHit] = []
        for (d, score) in ranked.prefix(limit) {
            let chunk = try bestChunk[d].map { try matchedChunk($0, semantic: semantic, reader: reader) }
            var hit: DataSearchHit
            if scores[d]?.bm25 != nil {
                hit = try keywordHit(d, clauses: parsed.clauses, reader: reader, score: score)
                hit.chunk = chunk
            } else {
                hit = semanticHit(d, chunk: chunk, score: score)
            }
            hit.scores = scores[d]
            hits.append(hit)
        }
        return DataSearchResults(query: query, mode: .hybrid, total: fused.count, hits: hits)
    }

    /// Documents like an example text (a model's reply, a transcript, a pinned sample): semantic
    /// search with the text's embedding as the query (long texts: the mean of their chunks').
    public func search(example: String, limit: Int = 10, semantic: SemanticSearcher) throws -> DataSearchResults {
        guard limit >= 1 && limit <= Self.maxLimit else { throw DataSearchError.badQuery("limit must be 1...\(Self.maxLimit)") }
        let text = String(example.prefix(Self.maxExampleCharacters))
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw DataSearchError.badQuery("the example is empty") }
        let label = text.count > 80 ? String(text.prefix(79)) + "…" : text
        return try semanticResults(query: "like: " + label.split(whereSeparator: \.isNewline).joined(separator: " "),
                                   vector: semantic.embed(text), filters: DataSearchQuery(), limit: limit,
                                   semantic: semantic, reader: TextReader(self))
    }

    func semanticResults(query: String, vector: [Float], filters: DataSearchQuery, limit: Int,
                         semantic: SemanticSearcher, reader: TextReader) throws -> DataSearchResults {
        let ranked = try semanticRanking(vector, filters: filters, semantic: semantic, reader: reader)
        var hits: [DataSearchHit] = []
        for (rank, m) in ranked.prefix(limit).enumerated() {
            let chunk = try matchedChunk(m.chunk, semantic: semantic, reader: reader)
            var hit = semanticHit(m.document, chunk: chunk, score: Double(m.score))
            hit.scores = HitScores(semantic: Double(m.score), semanticRank: rank + 1)
            hits.append(hit)
        }
        return DataSearchResults(query: query, mode: .semantic, total: ranked.count, hits: hits)
    }

    /// Documents by their best chunk's cosine with `vector`, the filters applied.
    func semanticRanking(_ vector: [Float], filters: DataSearchQuery, semantic: SemanticSearcher,
                         reader: TextReader) throws -> [(document: Int, score: Float, chunk: Int)] {
        if let why = semantic.index.mismatch(corpus: self, embedder: nil) {
            throw DataSearchError.staleIndex(semantic.index.path ?? SemanticIndex.fileName, why)
        }
        var excluded = Set<Int>()
        if !filters.excluded.isEmpty {
            excluded = try excludedDocuments(filters) { SearchTokenizer.terms(in: try reader.document($0).searchableText) }
        }
        return semantic.index.rankDocuments(vector).filter { !excluded.contains($0.document) && passesSourceFilters($0.document, filters) }
    }

    func matchedChunk(_ i: Int, semantic: SemanticSearcher, reader: TextReader) throws -> MatchedChunk {
        let span = semantic.index.chunks[i]
        let text = try reader.document(span.document).searchableText
        let utf8 = text.utf8
        guard span.start + span.length <= utf8.count else {
            throw DataSearchError.staleIndex(semantic.index.path ?? SemanticIndex.fileName, "a chunk runs past its document")
        }
        let stale = DataSearchError.staleIndex(semantic.index.path ?? SemanticIndex.fileName, "a chunk does not start on a character")
        guard var from = String.Index(utf8.index(utf8.startIndex, offsetBy: span.start), within: text.unicodeScalars),
              var to = String.Index(utf8.index(utf8.startIndex, offsetBy: span.start + span.length), within: text.unicodeScalars) else {
            throw stale
        }
        // Spans are whole scalars by construction; widen them to whole Characters for the offsets.
        while String.Index(from, within: text) == nil { from = text.unicodeScalars.index(before: from) }
        while String.Index(to, within: text) == nil { to = text.unicodeScalars.index(after: to) }
        return MatchedChunk(start: text.distance(from: text.startIndex, to: from), length: text.distance(from: from, to: to),
                            text: String(text[from..<to]))
    }

    /// A hit carrying its matched chunk, with the chunk on one line as its snippet, cut near `snippetBytes`.
    func semanticHit(_ d: Int, chunk: MatchedChunk?, score: Double) -> DataSearchHit {
        let rec = document(at: d)
        var snippet = ""
        if let chunk {
            let line = chunk.text.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
            if line.utf8.count > Self.snippetBytes {
                // Whole Characters up to snippetBytes, then back to the last space.
                var bytes = 0
                var cut = line.startIndex
                for i in line.indices {
                    bytes += line[i].utf8.count
                    if bytes > Self.snippetBytes { break }
                    cut = line.index(after: i)
                }
                let head = line[..<cut]
                snippet = String(head[..<(head.lastIndex(of: " ") ?? head.endIndex)]) + "…"
            } else {
                snippet = line
            }
            if chunk.start > 0 { snippet = "…" + snippet }
        }
        return DataSearchHit(id: rec.id, source: rec.source, title: rec.title, score: score, snippet: snippet, highlights: [], chunk: chunk)
    }
}

extension DataSearchQuery {
    /// A semantic query's text and its filters: `source:NAME`, `-source:NAME` and `-word`/`-"phrase"`
    /// exclusions are taken out (and must parse as in BM25); everything else is the text, as typed.
    public static func semanticFilters(_ query: String) throws -> (text: String, filters: DataSearchQuery) {
        var filters = DataSearchQuery()
        var words: [Substring] = []
        for word in query.split(whereSeparator: { $0.isWhitespace }) {
            let lower = word.lowercased()
            if lower.hasPrefix("source:") || lower.hasPrefix("-source:") {
                let name = String(lower.drop(while: { $0 == "-" }).dropFirst("source:".count))
                guard !name.isEmpty else { throw DataSearchError.badQuery("source: needs a name") }
                if lower.hasPrefix("-") { filters.excludedSources.append(name) } else { filters.sources.append(name) }
            } else if word.count > 1 && word.hasPrefix("-") {
                let text = String(word.dropFirst()).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                if let clause = try? makeClause(text) { filters.excluded.append(clause) } else { words.append(word) }
            } else {
                words.append(word)
            }
        }
        return (words.joined(separator: " "), filters)
    }
}
