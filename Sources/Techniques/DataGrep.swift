import Foundation

/// One document a regular expression matched, with the first matches in context.
public struct DataGrepHit: Codable, Sendable, Equatable {
    public var id: String
    public var source: String
    public var title: String
    /// How many times the pattern matched the document.
    public var matches: Int
    /// Up to three matches, each with up to 80 characters either side.
    public var excerpts: [String]
}

public struct DataGrepResults: Codable, Sendable, Equatable {
    public var pattern: String
    public var source: String?
    /// Documents that match (all of them, not only those listed).
    public var total: Int
    public var hits: [DataGrepHit]
}

/// Regular-expression search of the training corpus, document by document, in shard order: the
/// investigator agent's grep_dataset. Case-sensitive unless the pattern says (?i).
public enum DataGrep {
    public static func search(_ pattern: String, corpus directory: URL, source: String? = nil, limit: Int = 20) throws -> DataGrepResults {
        let regex: NSRegularExpression
        do {
            regex = try NSRegularExpression(pattern: pattern)
        } catch {
            throw MultiSample.Failure.badPattern(pattern, error.localizedDescription)
        }
        var results = DataGrepResults(pattern: pattern, source: source, total: 0, hits: [])
        for name in try DataCorpus.shardNames(in: directory) {
            let data = try Data(contentsOf: directory.appendingPathComponent(name))
            for located in try DataCorpus.documents(inShard: data, name: name) {
                let doc = located.document
                if let source, !doc.source.hasPrefix(source) { continue }
                let text = doc.searchableText
                let ns = text as NSString
                let found = regex.matches(in: text, range: NSRange(location: 0, length: ns.length))
                guard !found.isEmpty else { continue }
                results.total += 1
                guard results.hits.count < limit else { continue }
                let excerpts = found.prefix(3).map { m -> String in
                    let from = max(0, m.range.location - 80), to = min(ns.length, m.range.location + m.range.length + 80)
                    let body = ns.substring(with: NSRange(location: from, length: to - from)).replacingOccurrences(of: "\n", with: " ")
                    return (from > 0 ? "…" : "") + body + (to < ns.length ? "…" : "")
                }
                results.hits.append(DataGrepHit(id: doc.id, source: doc.source, title: doc.displayTitle, matches: found.count, excerpts: excerpts))
            }
        }
        return results
    }
}
