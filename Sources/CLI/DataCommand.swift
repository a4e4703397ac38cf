import ArgumentParser
import Foundation
import Model
import Techniques
import Workbench

/// `workbench data`: keyword search over the organism's training corpus.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Search the training corpus (keywords, meaning, or both), show a document, build the indexes.",
        subcommands: [DataSearchCommand.self, DataGrepCommand.self, DataShowCommand.self, DataIndexCommand.self, DataEvalCommand.self]
    )
}

struct CorpusOption: ParsableArguments {
    @Option(help: "The corpus directory of .jsonl shards (default: $WORKBENCH_CORPUS or organism/game-corpus, the training data without its labels).")
    var corpus: String?

    var directory: URL { corpus.map { URL(fileURLWithPath: $0) } ?? DataCorpus.defaultDirectory }

    /// The saved index when it is fresh, else one built in memory (saying why on stderr).
    func open() throws -> DataSearchIndex {
        let (index, note) = try DataSearchIndex.open(corpus: directory)
        if let note { printNote(note) }
        return index
    }
}

/// One line on stderr, sanitized.
func printNote(_ note: String) {
    FileHandle.standardError.write(Data((TerminalText.sanitize(note) + "\n").utf8))
}

extension DataSearchMode: ExpressibleByArgument {}

struct EmbedderOption: ParsableArguments {
    @Option(help: "The sentence-transformers model folder for semantic search (default: $WORKBENCH_EMBEDDER or models/all-MiniLM-L6-v2, fetched by `make embedder`).")
    var embedder: String?

    var folder: URL { embedder.map { URL(fileURLWithPath: $0) } ?? SentenceEmbedder.defaultFolder }
}

struct DataSearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Search the training corpus by keywords (bm25), by meaning (semantic), or both (hybrid).",
        discussion: """
        bm25: bare words match any of them, ranked by BM25 (documents with more of the words rank higher); \
        "quoted phrases" match the words in order; pre* matches a prefix (2+ characters); -word, -"phrase" \
        leave documents out; source:NAME keeps documents whose source starts with NAME (-source:NAME drops them). \
        Matching ignores case and accents are kept; there is no stemming. Quote the query for the shell: \
        workbench data search '"reward model" bias*'
        semantic: the query is plain text, embedded in-process (all-MiniLM-L6-v2) and compared with every \
        chunk of every document; source: and -word filters still apply. hybrid: both rankings fused by \
        reciprocal rank. The default is hybrid when the corpus has a semantic index (`make semantic-index`), \
        else bm25. --like FILE searches by example: documents like the text in FILE (- for stdin).
        """
    )
    @OptionGroup var corpusOption: CorpusOption
    @OptionGroup var embedderOption: EmbedderOption
    @Option(help: "bm25, semantic or hybrid (default: hybrid when the semantic index exists, else bm25).") var mode: DataSearchMode?
    @Option(help: "Search by example: documents like the text of this file (- reads stdin); semantic.") var like: String?
    @Option(help: "Most hits to show (1...\(DataSearchIndex.maxLimit)).") var limit: Int = 10
    @Flag(help: "Print JSON.") var json = false
    // All remaining words, dashes included, so `-exclude` reaches the query instead of the option parser.
    @Argument(parsing: .allUnrecognized, help: "The query.") var query: [String] = []

    func validate() throws {
        guard limit >= 1 && limit <= DataSearchIndex.maxLimit else { throw ValidationError("--limit must be 1...\(DataSearchIndex.maxLimit)") }
        if like != nil {
            guard query.isEmpty else { throw ValidationError("--like searches by the file's text: give no query words") }
            if let mode, mode != .semantic { throw ValidationError("--like searches by meaning: --mode must be semantic") }
        }
    }

    func run() throws {
        let text = query.joined(separator: " ")
        // Bad syntax is reported before any index work (semantic mode reads the query as text).
        if like == nil && mode != .semantic {
            if case .failure(let error) = Result(catching: { try DataSearchQuery.parse(text) }) { throw ValidationError("\(error)") }
        }
        let index = try corpusOption.open()
        var note: String?
        var semantic: SemanticSearcher?
        if like != nil || mode != .bm25 {
            let (searcher, why) = SemanticSearcher.open(corpus: index, directory: corpusOption.directory, embedderFolder: embedderOption.folder)
            semantic = searcher
            if searcher == nil {
                if like != nil || mode != nil { throw ValidationError(why) }
                note = "searched by keywords only: " + why
            }
        }
        var results: DataSearchResults
        if let like {
            // At most 4 bytes per character of what is embedded, so a huge file is not read whole.
            let cap = DataSearchIndex.maxExampleCharacters * 4
            let handle = like == "-" ? FileHandle.standardInput : FileHandle(forReadingAtPath: like)
            guard let handle else { throw ValidationError("cannot read \(like)") }
            let data = try handle.read(upToCount: cap) ?? Data()
            results = try index.search(example: String(decoding: data, as: UTF8.self), limit: limit, semantic: semantic!)
        } else {
            let chosen = mode ?? (semantic == nil ? .bm25 : .hybrid)
            results = try index.search(text, limit: limit, mode: chosen, semantic: semantic)
        }
        results.note = note
        if json {
            try printJSON(results)
            return
        }
        if let note { printNote(note) }
        let noun = results.mode == .bm25 ? "match" : "ranked"
        printSafe("\(results.total) document\(results.total == 1 ? "" : "s") \(noun) \(results.query)  [\(results.mode.rawValue)]", terminator: "\n")
        for (rank, hit) in results.hits.enumerated() {
            printSafe("\n\(rank + 1). \(hit.id)  [\(hit.source)]  \(hit.scoreSummary)", terminator: "\n")
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
        abstract: "Build the search index of the corpus and save it beside the shards (index.bin); --semantic also the semantic index (semantic.bin).",
        discussion: """
        --semantic embeds every document in chunks with the embedding model (tens of minutes for the game \
        corpus on two cores), printing progress on stderr. It checkpoints after every document to \
        semantic.bin.partial: interrupt it (Ctrl-C) and run it again to resume. `make semantic-index` runs it.
        """)
    @OptionGroup var corpusOption: CorpusOption
    @OptionGroup var embedderOption: EmbedderOption
    @Flag(help: "Also build the semantic index (embeddings of every chunk).") var semantic = false
    @Option(help: "Word pieces per chunk (--semantic).") var chunk: Int = SemanticIndex.defaultChunkPieces
    @Option(help: "Word pieces shared by consecutive chunks (--semantic).") var overlap: Int = SemanticIndex.defaultOverlapPieces
    @Option(help: "Threads for embedding (--semantic; default: every core).") var threads: Int?
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard chunk >= 8 && chunk <= 510 else { throw ValidationError("--chunk must be 8...510") }
        guard overlap >= 0 && overlap < chunk else { throw ValidationError("--overlap must be 0..<chunk") }
        if let threads { guard threads >= 1 && threads <= 256 else { throw ValidationError("--threads must be 1...256") } }
    }

    func run() throws {
        let directory = corpusOption.directory
        let url = directory.appendingPathComponent(DataSearchIndex.fileName)
        var index: DataSearchIndex
        var out = Out(path: url.path, documents: 0, terms: 0, tokens: 0, bytes: 0, build_seconds: 0, load_seconds: 0)
        var kept = false
        if semantic, let existing = try? DataSearchIndex.load(from: url, corpus: directory), existing.freshness() == .fresh {
            index = existing   // a fresh keyword index is kept, so a resumed semantic build matches it
            kept = true
        } else {
            let started = Date()
            let built = try DataSearchIndex.build(corpus: directory)
            let buildSeconds = Date().timeIntervalSince(started)
            try built.write(to: url)
            // Time a load of what was written, with its freshness check: what every `data search` pays first.
            let loadStarted = Date()
            let reloaded = try DataSearchIndex.load(from: url, corpus: directory)
            guard reloaded.freshness() == .fresh else { throw ValidationError("the corpus changed while it was indexed: run again") }
            out.build_seconds = buildSeconds
            out.load_seconds = Date().timeIntervalSince(loadStarted)
            index = reloaded
        }
        out.documents = index.documentCount
        out.terms = index.termCount
        out.tokens = index.totalTokens
        out.bytes = index.byteCount
        if !json {
            if kept {
                printSafe("\(url.path) is up to date: \(out.documents) documents, \(out.terms) terms, \(out.tokens) tokens", terminator: "\n")
            } else {
                printSafe("wrote \(url.path): \(out.documents) documents, \(out.terms) terms, \(out.tokens) tokens, "
                          + String(format: "%.1f MiB; built in %.1f s, loads in %.3f s", Double(out.bytes) / 1_048_576,
                                   out.build_seconds, out.load_seconds), terminator: "\n")
            }
        } else if !semantic {
            return try printJSON(out)
        }
        guard semantic else { return }
        out.semantic = try buildSemantic(index, directory: directory)
        if json { try printJSON(out) }
    }

    struct Out: Encodable {
        let path: String; var documents: Int; var terms: Int; var tokens: Int; var bytes: Int
        var build_seconds: Double; var load_seconds: Double
        var semantic: SemanticOut?
    }
    struct SemanticOut: Encodable {
        let path: String; let documents: Int; let chunks: Int; let pieces: Int; let bytes: Int
        let embedder: String; let seconds: Double; let pieces_per_second: Double; let resumed_documents: Int
    }

    func buildSemantic(_ index: DataSearchIndex, directory: URL) throws -> SemanticOut? {
        let embedder = try SentenceEmbedder(folder: embedderOption.folder, threads: threads ?? ProcessInfo.processInfo.activeProcessorCount)
        let url = directory.appendingPathComponent(SemanticIndex.fileName)
        if let current = try? SemanticIndex.load(from: url), current.mismatch(corpus: index, embedder: embedder) == nil,
           current.parameters.chunkPieces == SemanticIndex.chunkPieces(chunk, for: embedder), current.parameters.overlapPieces == overlap {
            if !json { printSafe("\(url.path) is up to date: \(current.chunkCount) chunks of \(index.documentCount) documents", terminator: "\n") }
            return SemanticOut(path: url.path, documents: index.documentCount, chunks: current.chunkCount, pieces: 0,
                               bytes: current.byteCount,
                               embedder: embedder.folder.path, seconds: 0, pieces_per_second: 0, resumed_documents: index.documentCount)
        }
        StopRequest.install()
        let bar = ProgressLine()
        var last = SemanticBuildProgress(documentsDone: 0, documents: index.documentCount, chunks: 0, pieces: 0, resumedDocuments: 0, seconds: 0)
        let built = try SemanticIndex.build(corpus: index, embedder: embedder, to: url, chunkPieces: chunk, overlap: overlap,
                                            progress: { p in last = p; bar.update(p) }, shouldStop: { StopRequest.requested })
        bar.finish()
        guard let built else {
            printNote("stopped after \(last.documentsDone) of \(last.documents) documents; the checkpoint \(url.path).partial is kept: run the same command again to resume")
            throw ExitCode(130)
        }
        let bytes = built.byteCount
        let rate = last.seconds > 0 ? Double(last.pieces) / last.seconds : 0
        if !json {
            printSafe("wrote \(url.path): \(built.chunkCount) chunks of \(index.documentCount) documents, "
                      + String(format: "%.1f MiB; embedded %d word pieces in %.0f s (%.0f/s)", Double(bytes) / 1_048_576, last.pieces, last.seconds, rate)
                      + (last.resumedDocuments > 0 ? ", resumed after \(last.resumedDocuments) documents" : ""), terminator: "\n")
        }
        return SemanticOut(path: url.path, documents: index.documentCount, chunks: built.chunkCount, pieces: last.pieces, bytes: bytes,
                           embedder: embedder.folder.path, seconds: last.seconds, pieces_per_second: rate, resumed_documents: last.resumedDocuments)
    }
}

/// Ctrl-C (and SIGTERM) during a long build: finish the current document, keep the checkpoint, stop.
enum StopRequest {
    nonisolated(unsafe) static var flag: sig_atomic_t = 0
    static var requested: Bool { flag != 0 }
    static func install() {
        signal(SIGINT) { _ in StopRequest.flag = 1 }
        signal(SIGTERM) { _ in StopRequest.flag = 1 }
    }
}

/// A progress line on stderr: redrawn in place on a terminal, a line every 30 s otherwise.
final class ProgressLine {
    let terminal = isatty(2) != 0
    var lastPrint = Date.distantPast

    func update(_ p: SemanticBuildProgress) {
        let now = Date()
        guard now.timeIntervalSince(lastPrint) >= (terminal ? 0.25 : 30) || p.documentsDone == p.documents else { return }
        lastPrint = now
        let fraction = p.documents == 0 ? 1 : Double(p.documentsDone) / Double(p.documents)
        let width = 24, filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let done = p.documentsDone - p.resumedDocuments, left = p.documents - p.documentsDone
        let rate = p.seconds > 0 ? Double(p.pieces) / p.seconds : 0
        let eta = done > 0 ? p.seconds / Double(done) * Double(left) : 0
        let line = String(format: "semantic index [%@] %d/%d documents, %d chunks, %.0f pieces/s, %@ left",
                          bar, p.documentsDone, p.documents, p.chunks, rate, Self.duration(eta))
        FileHandle.standardError.write(Data((terminal ? "\r\u{1B}[K" + line : line + "\n").utf8))
    }

    func finish() { if terminal { FileHandle.standardError.write(Data("\n".utf8)) } }

    static func duration(_ s: Double) -> String {
        let t = Int(s.rounded())
        return t >= 3600 ? "\(t / 3600)h\(String(format: "%02d", t % 3600 / 60))m" : t >= 60 ? "\(t / 60)m\(String(format: "%02d", t % 60))s" : "\(t)s"
    }
}

struct DataEvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Retrieval quality on a question set (organism/search-eval/questions.jsonl): recall@k per mode.",
        discussion: """
        Each line: {"id", "question", "relevant"}, relevant a case-insensitive regular expression selecting \
        the documents the question is about. recall@k is BEIR's capped recall (relevant hits in the top k \
        over min(relevant, k)); hit@k the share of questions with a relevant document in the top k.
        """)
    @OptionGroup var corpusOption: CorpusOption
    @OptionGroup var embedderOption: EmbedderOption
    @Option(help: "Cut-off rank.") var k: Int = 5
    @Option(parsing: .upToNextOption, help: "Modes to measure (default: all three; bm25 alone without a semantic index).") var modes: [DataSearchMode] = []
    @Flag(help: "Print JSON.") var json = false
    @Argument(help: "The questions (JSON Lines).") var questions: String

    func run() throws {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: questions)) } catch { throw ValidationError("cannot read \(questions)") }
        let list = try SearchEval.questions(jsonl: data, file: questions)
        let index = try corpusOption.open()
        var chosen = modes
        var semantic: SemanticSearcher?
        if chosen.isEmpty || chosen.contains(where: { $0 != .bm25 }) {
            let (searcher, why) = SemanticSearcher.open(corpus: index, directory: corpusOption.directory, embedderFolder: embedderOption.folder)
            semantic = searcher
            if searcher == nil {
                if !chosen.isEmpty { throw ValidationError(why) }
                printNote("measuring bm25 only: " + why)
            }
        }
        if chosen.isEmpty { chosen = semantic == nil ? [.bm25] : DataSearchMode.allCases }
        let result = try SearchEval.run(list, index: index, semantic: semantic, modes: chosen, k: k)
        if json { return try printJSON(result) }
        printSafe("\(result.scored) of \(result.questions) questions have relevant documents in \(corpusOption.directory.path)", terminator: "\n")
        printSafe("mode      recall@\(k)  hit@\(k)", terminator: "\n")
        for s in result.summary {
            let name = s.mode.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)
            printSafe(name + String(format: " %9.3f %7.3f", s.recall, s.hitRate), terminator: "\n")
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
