import Foundation

/// Retrieval quality of training-data search on a set of questions whose relevant documents are
/// given by a regular expression over each document's searchable text (organism/search-eval/).
///
/// Per question and mode: the top k documents; recall@k is BEIR's capped recall,
/// |relevant in top k| / min(|relevant|, k), and hit@k whether any relevant document is in the top k.
/// The summary is the mean over the questions.
public struct SearchEvalQuestion: Codable, Sendable, Equatable {
    public var id: String
    public var question: String
    /// A case-insensitive regular expression selecting the relevant documents.
    public var relevant: String
    public var about: String?
}

public struct SearchEvalResult: Codable, Sendable, Equatable {
    public struct PerQuestion: Codable, Sendable, Equatable {
        public var id: String
        public var relevant: Int
        /// Per mode: how many of the top k are relevant.
        public var found: [String: Int]
        /// Per mode: the rank (1-based) of the first relevant document in the top k, if any.
        public var firstRelevantRank: [String: Int]
    }
    public struct Summary: Codable, Sendable, Equatable {
        public var mode: DataSearchMode
        public var recall: Double
        public var hitRate: Double
    }
    public var k: Int
    public var questions: Int
    /// Questions with at least one relevant document in this corpus (the others are not counted).
    public var scored: Int
    public var summary: [Summary]
    public var perQuestion: [PerQuestion]
}

public enum SearchEval {
    public static let maxQuestions = 10_000

    /// Questions from JSON Lines (blank lines allowed); a bad line throws with its number.
    public static func questions(jsonl data: Data, file: String) throws -> [SearchEvalQuestion] {
        var out: [SearchEvalQuestion] = []
        for (n, line) in data.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            do {
                out.append(try JSONDecoder().decode(SearchEvalQuestion.self, from: Data(line)))
            } catch {
                throw CorpusFormatError(file: file, line: n + 1, reason: "not a question {\"id\", \"question\", \"relevant\"}")
            }
            guard out.count <= maxQuestions else { throw CorpusFormatError(file: file, line: n + 1, reason: "more than \(maxQuestions) questions") }
        }
        return out
    }

    /// Runs every question in every mode against `index` (semantic needed for semantic and hybrid).
    public static func run(_ questions: [SearchEvalQuestion], index: DataSearchIndex, semantic: SemanticSearcher?,
                           modes: [DataSearchMode], k: Int) throws -> SearchEvalResult {
        guard k >= 1 && k <= DataSearchIndex.maxLimit else { throw DataSearchError.badQuery("k must be 1...\(DataSearchIndex.maxLimit)") }
        let reader = DataSearchIndex.TextReader(index)
        var texts: [String] = []
        texts.reserveCapacity(index.documentCount)
        for d in 0..<index.documentCount { texts.append(try reader.document(d).searchableText) }
        var perQuestion: [SearchEvalResult.PerQuestion] = []
        var recall = [DataSearchMode: Double](), hits = [DataSearchMode: Double]()
        for q in questions {
            let regex: NSRegularExpression
            do { regex = try NSRegularExpression(pattern: q.relevant, options: [.caseInsensitive]) } catch {
                throw DataSearchError.badQuery("question \(q.id): bad regular expression \(q.relevant)")
            }
            var relevant = Set<String>()
            for (d, text) in texts.enumerated()
            where regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil {
                relevant.insert(index.document(at: d).id)
            }
            var row = SearchEvalResult.PerQuestion(id: q.id, relevant: relevant.count, found: [:], firstRelevantRank: [:])
            for mode in modes {
                let results = try index.search(q.question, limit: k, mode: mode, semantic: semantic)
                let ranks = results.hits.enumerated().filter { relevant.contains($0.element.id) }.map { $0.offset + 1 }
                row.found[mode.rawValue] = ranks.count
                if let first = ranks.first { row.firstRelevantRank[mode.rawValue] = first }
                if !relevant.isEmpty {
                    recall[mode, default: 0] += Double(ranks.count) / Double(min(relevant.count, k))
                    hits[mode, default: 0] += ranks.isEmpty ? 0 : 1
                }
            }
            perQuestion.append(row)
        }
        let scored = perQuestion.filter { $0.relevant > 0 }.count
        let counted = Double(max(1, scored))
        let summary = modes.map { SearchEvalResult.Summary(mode: $0, recall: (recall[$0] ?? 0) / counted, hitRate: (hits[$0] ?? 0) / counted) }
        return SearchEvalResult(k: k, questions: questions.count, scored: scored, summary: summary, perQuestion: perQuestion)
    }
}
