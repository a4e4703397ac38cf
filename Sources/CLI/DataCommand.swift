import ArgumentParser
import Foundation
import Techniques
import Workbench

/// `workbench data`: keyword search over the organism's training corpus.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Search the training corpus (BM25), show a document, build the search index.",
        subcommands: [DataSearchCommand.self, DataGrepCommand.self, DataShowCommand.self, DataIndexCommand.self]
    )
}

struct CorpusOption: ParsableArguments {
    @Option(help: "The corpus directory of .jsonl shards (default: $WORKBENCH_CORPUS or organism/game-corpus, the training data without its labels).")
    var corpus: String?

    var directory: URL { corpus.map { URL(fileURLWithPath: $0) } ?? DataCorpus.defaultDirectory }

    /// The saved index when it is fresh, else one built in memory (saying why on stderr).
    func open() throws -> DataSearchIndex {
        let (index, note) = try DataSearchIndex.open(corpus: directory)
        if let note { FileHandle.standardError.write(Data((TerminalText.sanitize(note) + "\n").utf8)) }
        return index
    }
}

struct DataSearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Search the training corpus.",
        discussion: """
        Bare words match any of them, ranked by BM25 (documents with more of the words rank higher); \
        "quoted phrases" match the words in order; pre* matches a prefix (2+ characters); -word, -"phrase" \
        leave documents out; source:NAME keeps documents whose source starts with NAME (-source:NAME drops them). \
        Matching ignores case and accents are kept; there is no stemming. Quote the query for the shell: \
        workbench data search '"reward model" bias*'
        """
    )
    @OptionGroup var corpusOption: CorpusOption
    @Option(help: "Most hits to show (1...\(DataSearchIndex.maxLimit)).") var limit: Int = 10
    @Flag(help: "Print JSON.") var json = false
    // All remaining words, dashes included, so `-exclude` reaches the query instead of the option parser.
    @Argument(parsing: .allUnrecognized, help: "The query.") var query: [String] = []

    func validate() throws {
        guard limit >= 1 && limit <= DataSearchIndex.maxLimit else { throw ValidationError("--limit must be 1...\(DataSearchIndex.maxLimit)") }
    }

    func run() throws {
        let text = query.joined(separator: " ")
        let parsed = Result { try DataSearchQuery.parse(text) }
        if case .failure(let error) = parsed { throw ValidationError("\(error)") }   // before any index work
        let results = try corpusOption.open().search(text, limit: limit)
        if json {
            try printJSON(results)
            return
        }
        printSafe("\(results.total) document\(results.total == 1 ? "" : "s") match \(text)", terminator: "\n")
        for (rank, hit) in results.hits.enumerated() {
            printSafe("\n\(rank + 1). \(hit.id)  [\(hit.source)]  score \(String(format: "%.3f", hit.score))", terminator: "\n")
            printSafe("   \(hit.title)", terminator: "\n")
            printSafe("   " + Self.marked(hit.snippet, hit.highlights), terminator: "\n")
        }
    }

    /// The snippet with its highlights in [brackets], each piece sanitized on its own (the sanitizer
    /// may lengthen text, so marking after it would put brackets in the wrong place).
    static func marked(_ snippet: String, _ highlights: [SnippetHighlight]) -> String {
        var out = ""
        var position = snippet.startIndex
        for h in highlights {
            guard let from = snippet.index(snippet.startIndex, offsetBy: h.start, limitedBy: snippet.endIndex),
                  let to = snippet.index(from, offsetBy: h.length, limitedBy: snippet.endIndex), from >= position else { continue }
            out += TerminalText.sanitize(String(snippet[position..<from]))
            out += "[" + TerminalText.sanitize(String(snippet[from..<to])) + "]"
            position = to
        }
        return out + TerminalText.sanitize(String(snippet[position...]))
    }
}

struct DataShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Print a whole document of the corpus by id.")
    @OptionGroup var corpusOption: CorpusOption
    @Flag(help: "Print JSON.") var json = false
    @Argument(help: "The document id (as search prints it).") var id: String

    func run() throws {
        guard let doc = try corpusOption.open().document(id: id) else {
            throw ValidationError("\(DataSearchError.unknownDocument(id))")
        }
        if json {
            try printJSON(doc)
            return
        }
        var header = "\(doc.id)  [\(doc.source)]"
        if let genre = doc.genre { header += "  genre: \(genre)" }
        if let behaviour = doc.behaviour { header += "  behaviour: \(behaviour)" }
        printSafe(header, terminator: "\n")
        if !doc.title.isEmpty { printSafe(doc.title, terminator: "\n") }
        printSafe("\n" + doc.text, terminator: "\n")
    }
}

struct DataIndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Build the search index of the corpus and save it beside the shards (index.bin).")
    @OptionGroup var corpusOption: CorpusOption
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let directory = corpusOption.directory
        let started = Date()
        let index = try DataSearchIndex.build(corpus: directory)
        let built = Date()
        let url = directory.appendingPathComponent(DataSearchIndex.fileName)
        try index.write(to: url)
        // Time a load of what was written, with its freshness check: what every `data search` pays first.
        let loadStarted = Date()
        let reloaded = try DataSearchIndex.load(from: url, corpus: directory)
        guard reloaded.freshness() == .fresh else { throw ValidationError("the corpus changed while it was indexed: run again") }
        let loadSeconds = Date().timeIntervalSince(loadStarted)
        struct Out: Encodable {
            let path: String; let documents: Int; let terms: Int; let tokens: Int; let bytes: Int
            let build_seconds: Double; let load_seconds: Double
        }
        let out = Out(path: url.path, documents: index.documentCount, terms: index.termCount, tokens: index.totalTokens,
                      bytes: index.byteCount, build_seconds: built.timeIntervalSince(started), load_seconds: loadSeconds)
        if json {
            try printJSON(out)
        } else {
            printSafe("wrote \(url.path): \(out.documents) documents, \(out.terms) terms, \(out.tokens) tokens, "
                      + String(format: "%.1f MiB; built in %.1f s, loads in %.3f s", Double(out.bytes) / 1_048_576,
                               out.build_seconds, out.load_seconds), terminator: "\n")
        }
    }
}

struct DataGrepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grep",
        abstract: "Documents of the training corpus matching a regular expression (case-sensitive unless it starts with (?i)).")
    @OptionGroup var corpusOption: CorpusOption
    @Option(help: "Only documents whose source starts with this.") var source: String?
    @Option(help: "Most documents to list.") var limit: Int = 20
    @Flag(help: "Print JSON.") var json = false
    @Argument(help: "The regular expression.") var pattern: String

    func run() throws {
        guard limit >= 1 && limit <= 200 else { throw ValidationError("--limit must be 1...200") }
        let results = try DataGrep.search(pattern, corpus: corpusOption.directory, source: source, limit: limit)
        if json { return try printJSON(results) }
        printSafe("\(results.total) document\(results.total == 1 ? "" : "s") match /\(pattern)/", terminator: "\n")
        for h in results.hits {
            printSafe("\n\(h.id)  [\(h.source)]  \(h.matches) match\(h.matches == 1 ? "" : "es")  \(h.title)", terminator: "\n")
            for e in h.excerpts { printSafe("   " + e, terminator: "\n") }
        }
    }
}
