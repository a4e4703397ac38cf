import Foundation
import Techniques
import Workbench

/// Pane 6: search over the training corpus by keywords (BM25 with phrases, prefixes, exclusions),
/// by meaning (the semantic index) or both (hybrid); hits with their keyword matches highlighted or
/// the chunk that matched; search by example (the Chat pane's last reply, a notebook entry); whole
/// documents with the matched chunk marked; pinning into the notebook.
public struct DataPaneState: Sendable {
    public var query = TextField()
    /// The mode chosen with `m`; nil: hybrid when the corpus has a semantic index, else bm25.
    public var mode: DataSearchMode?
    /// Why semantic search is unavailable (no index, stale, no model), once the pane has looked.
    public var semanticProblem: String?
    public var results: DataSearchResults?

    /// The mode the next search uses: the one chosen, else hybrid unless semantic search is unavailable.
    public var effectiveMode: DataSearchMode { mode ?? (semanticProblem == nil ? .hybrid : .bm25) }
    public var selected = 0
    /// The document being read, if one is open, and the chunk of it that matched.
    public var open: CorpusDocument?
    public var openChunk: MatchedChunk?
    public var searching = false
    public var scroll = 0
    public var corpus: URL = DataCorpus.defaultDirectory
}

extension App {
    /// Searches another corpus folder (forgetting the index of the last one).
    public func setDataCorpus(_ url: URL) {
        state.data.corpus = url
        state.data.results = nil
        state.data.open = nil
        state.data.semanticProblem = nil
        background { holder in
            holder.dataIndex = nil
            holder.semantic = nil
            holder.semanticLooked = false
            return { _ in }
        }
    }


    /// Runs the query off the update loop: opening (or building) the index can take a while.
    func dataSubmit() {
        let query = state.data.query.text
        guard !query.trimmingCharacters(in: .whitespaces).isEmpty else { return }
        runDataSearch(mode: state.data.mode, label: nil) { index, mode, semantic in
            try index.search(query, limit: 100, mode: mode, semantic: semantic)
        }
    }

    /// Search by example: training documents like `text` (semantic). `label` says what the text is.
    func dataSearchLike(_ text: String, label: String) {
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            state.message = ("\(label) is empty: nothing to search by", true)
            return
        }
        state.pane = .data
        runDataSearch(mode: .semantic, label: label) { index, _, semantic in
            guard let semantic else { throw DataSearchError.badQuery("searching by example needs the semantic index") }
            return try index.search(example: text, limit: 100, semantic: semantic)
        }
    }

    /// Opens the index (and the semantic index, once) in the background, then runs `search` with the
    /// mode asked for (nil: hybrid when semantic search is available, else bm25).
    private func runDataSearch(mode asked: DataSearchMode?, label: String?,
                               _ search: @escaping @Sendable (DataSearchIndex, DataSearchMode, SemanticSearcher?) throws -> DataSearchResults) {
        state.data.searching = true
        state.data.open = nil
        state.data.openChunk = nil
        let corpus = state.data.corpus
        background { holder in
            let outcome: Result<(DataSearchResults, String?, String?), Error>
            do {
                var note: String?
                if holder.dataIndex == nil {
                    let (index, why) = try DataSearchIndex.open(corpus: corpus)
                    holder.dataIndex = index
                    note = why.map { "\($0); searched an index built in memory" }
                }
                let index = holder.dataIndex!
                // Looked for once, and again when semantic.bin appears or changes (`make semantic-index`
                // finishing while the workbench is open).
                let stamp = (try? FileManager.default.attributesOfItem(atPath: corpus.appendingPathComponent(SemanticIndex.fileName).path))?[.modificationDate] as? Date
                if asked != .bm25 && (!holder.semanticLooked || (holder.semantic == nil && stamp != holder.semanticStamp)) {
                    let (searcher, why) = SemanticSearcher.open(corpus: index, directory: corpus)
                    holder.semantic = searcher
                    holder.semanticProblem = searcher == nil ? why : nil
                    holder.semanticLooked = true
                    holder.semanticStamp = stamp
                }
                let mode = asked ?? (holder.semantic == nil ? .bm25 : .hybrid)
                if mode != .bm25, holder.semantic == nil, let problem = holder.semanticProblem {
                    throw DataSearchError.badQuery("\(mode.rawValue) search is unavailable: \(problem)")
                }
                outcome = .success((try search(index, mode, holder.semantic), note, holder.semanticProblem))
            } catch {
                outcome = .failure(error)
            }
            return { app in
                app.state.data.searching = false
                switch outcome {
                case .success(let (results, note, problem)):
                    app.state.data.semanticProblem = problem
                    app.state.data.results = results
                    app.state.data.selected = 0
                    app.state.data.scroll = 0
                    app.state.focus = .normal
                    let what = label.map { "documents like \($0)" } ?? "\(results.total) documents \(results.mode == .bm25 ? "match" : "ranked")"
                    app.state.message = (note ?? (results.mode == .bm25 && asked == nil && problem != nil
                                                  ? "\(what) (keywords only: \(problem!))" : what), false)
                case .failure(let error):
                    app.state.message = ("search: \(error)", true)
                }
            }
        }
    }

    /// Opens hit `id`'s whole document off the update loop, scrolled to the chunk that matched.
    func openDocument(id: String, chunk: MatchedChunk?) {
        background { holder in
            let doc = Result { try holder.dataIndex?.document(id: id) }
            return { app in
                switch doc {
                case .success(let d?):
                    app.state.data.open = d
                    app.state.data.openChunk = chunk
                    app.state.data.scroll = Screen.chunkLine(d, chunk, width: app.state.width)
                case .success(nil): app.state.message = ("no document \(id)", true)
                case .failure(let e): app.state.message = ("\(e)", true)
                }
            }
        }
    }
}

extension DataPaneState: PaneModel {
    static let pane = Pane.data

    enum Action: Sendable { case mode, like, open, close, previous, next }

    static let bindings: [KeyBinding<Action>] = [
        KeyBinding([.char("o")], label: "o, Enter", "open the selected hit's whole document (the matched chunk marked)", hint: "open",
                   when: { $0.data.open == nil }, .open),
        KeyBinding([.enter], "open the selected hit", hidden: true, when: { $0.data.results != nil && $0.data.open == nil }, .open),
        KeyBinding([.char("k"), .up], label: "j / k", "select a hit (in an open document: scroll)", hint: "select", when: { $0.data.open == nil }, .previous),
        KeyBinding([.char("j"), .down], "next hit", hidden: true, when: { $0.data.open == nil }, .next),
        KeyBinding([.char("m")], "mode: bm25 (keywords), semantic (meaning), hybrid (both)", hint: "mode", .mode),
        KeyBinding([.char("l")], "training data like the Chat pane's last reply (by meaning)", hint: "like reply", .like),
        KeyBinding([.char("x"), .backspace], label: "x", "close the document", hint: "close", when: { $0.data.open != nil }, .close),
    ]

    mutating func update(_ action: Action, _ app: AppState) -> [Effect] {
        let hits = results?.hits ?? []
        switch action {
        case .mode:
            // bm25 -> semantic -> hybrid -> bm25
            let all = DataSearchMode.allCases
            let next = all[(all.firstIndex(of: effectiveMode)! + 1) % all.count]
            mode = next
            if next != .bm25, let problem = semanticProblem { return [.fail("mode \(next.rawValue): \(problem)")] }
            return [.say("search mode: \(next.rawValue)" + (query.text.isEmpty ? "" : " (Enter searches again)"))]
        case .like:
            // The Chat pane's last reply (else its whole transcript) as the example.
            let turns = app.chat.turns
            if let reply = turns.last(where: { $0.role == "assistant" }) {
                return [.searchLike(text: reply.content, label: "the last Chat reply")]
            }
            return [.searchLike(text: turns.map { "\($0.role): \($0.content)" }.joined(separator: "\n"), label: "the Chat transcript")]
        case .open:
            guard hits.indices.contains(selected) else { return [.say("no hit to open: type a query first (i)")] }
            return [.openDocument(id: hits[selected].id, chunk: hits[selected].chunk)]
        case .close:
            open = nil
            openChunk = nil
            scroll = 0
            return []
        case .previous, .next:
            guard !hits.isEmpty, open == nil else { return [] }
            selected = min(max(0, selected + (action == .next ? 1 : -1)), hits.count - 1)
            return [.keepSelectionInView]
        }
    }

    func view(_ app: AppState, width: Int) -> Screen.PaneView { Screen.dataView(app, width: width) }

    func evidence(_ app: AppState) -> Evidence? {
        let mode = results?.mode.rawValue ?? effectiveMode.rawValue
        if let doc = open {
            let q = results?.query ?? query.text
            var text = "query: \(q)\nmode: \(mode)\nsource: \(doc.source)\n"
            if let chunk = openChunk { text += "matched chunk: characters \(chunk.start)..<\(chunk.start + chunk.length)\n" }
            return Evidence(title: "Training document \(doc.id): \(doc.displayTitle)", text: text + "\n\(doc.text)", settings: PaneSettings())
        }
        guard let results, results.hits.indices.contains(selected) else { return nil }
        let hit = results.hits[selected]
        var text = "query: \(results.query)\nmode: \(mode)\nsource: \(hit.source)\ntitle: \(hit.title)\nscores: \(hit.scoreSummary)\n\n\(hit.snippet)"
        if let chunk = hit.chunk, hit.highlights.isEmpty == false { text += "\n\nmatched chunk:\n\(chunk.text)" }
        return Evidence(title: "Search hit \(hit.id) for “\(results.query)” (\(mode), \(results.total) documents)", text: text, settings: PaneSettings())
    }
}

extension Screen {
    static func dataView(_ s: AppState, width: Int) -> PaneView {
        let d = s.data
        var v = PaneView()
        let mode = d.effectiveMode
        let syntax = mode == .semantic ? "plain text by meaning, source:NAME, -word" : "words, \"a phrase\", prefix*, -exclude, source:NAME"
        v.header.append(StyledLine([Span("Training data ", Style(.title)), Span("[\(mode.rawValue)\(d.mode == nil ? ", auto" : "")] ", Style(.accent)),
                                    Span("\(syntax) │ m mode, l like the last reply │ corpus: \(d.corpus.lastPathComponent)", Style(.dim))]))
        if let problem = d.semanticProblem, mode != .bm25 || d.mode == nil {
            v.header.append(StyledLine("keywords only: " + problem, Style(.warning)))
        }
        if let doc = d.open {
            v.header.append(StyledLine([Span("\(doc.id) ", Style(.accent)), Span(doc.displayTitle, Style(.title)),
                                        Span("  (\(doc.source); \(d.openChunk == nil ? "" : "the matched chunk is marked; ")x closes)", Style(.dim))]))
            var body = documentLines(doc, chunk: d.openChunk, width: width)
            for word in queryWords(d.results?.mode == .semantic ? "" : d.query.text) { body = body.map { highlight($0, word) } }
            v.body = body
        } else if let results = d.results {
            let noun = results.mode == .bm25 ? "match" : "ranked"
            v.header.append(StyledLine("\(results.total) documents \(noun) “\(results.query)” [\(results.mode.rawValue)]; showing \(results.hits.count) (j/k select, o open, p pin)", Style(.dim)))
            for (i, hit) in results.hits.enumerated() {
                let selected = i == d.selected
                v.body.append(StyledLine([Span("\(i + 1). \(hit.title.isEmpty ? hit.id : hit.title)", Style(selected ? .selection : .accent, bold: true)),
                                          Span("  \(hit.source) · \(hit.id) · \(hit.scoreSummary)", Style(.dim))]))
                if hit.highlights.isEmpty && hit.chunk != nil {
                    // Matched by meaning: the chunk that matched, marked as such.
                    v.body += Wrap.lines(StyledLine([Span("≈ ", Style(.accent)), Span(hit.snippet, Style(.normal))]), width: width, indent: "  ")
                } else {
                    v.body += Wrap.lines(highlighted(hit), width: width, indent: "  ")
                }
                v.body.append(StyledLine())
            }
        } else {
            v.body += Wrap.lines(d.searching ? "Searching…" : "Type a query and press Enter (m switches keywords / meaning / both; l finds documents like the Chat pane's last reply). The corpus is the organism's training data: synthetic documents mixed into ordinary text, and the chat transcripts it was fine-tuned on.", width: width, style: Style(.dim))
        }
        if d.searching { v.header.append(StyledLine("searching…", Style(.warning))) }
        let (lines, cursor) = fieldLines(label: "Search › ", field: d.query, width: width, focused: s.focus == .input, maxRows: 2)
        v.bottom = lines
        v.cursor = cursor
        return v
    }

    /// An open document's lines, the matched chunk (offsets in the searchable text: title line, then
    /// text) in the match style.
    static func documentLines(_ doc: CorpusDocument, chunk: MatchedChunk?, width: Int) -> [StyledLine] {
        guard let chunk else { return Wrap.lines(doc.text, width: width) }
        let shift = doc.title.isEmpty ? 0 : doc.title.count + 1
        let chars = Array(doc.text)
        let from = min(chars.count, max(0, chunk.start - shift)), to = min(chars.count, max(from, chunk.start + chunk.length - shift))
        // Wrap each paragraph on its own so the marked span keeps its place across lines.
        var lines: [StyledLine] = []
        var paragraph = StyledLine()
        for (i, c) in chars.enumerated() {
            if c == "\n" {
                lines += Wrap.lines(paragraph, width: width)
                paragraph = StyledLine()
                continue
            }
            paragraph.append(String(c), i >= from && i < to ? Style(.match) : Style(.normal))
        }
        lines += Wrap.lines(paragraph, width: width)
        return lines
    }

    /// The first line of the matched chunk in an open document (to scroll to it), 0 without one.
    static func chunkLine(_ doc: CorpusDocument, _ chunk: MatchedChunk?, width: Int) -> Int {
        guard chunk != nil else { return 0 }
        let lines = documentLines(doc, chunk: chunk, width: max(20, width))
        return max(0, (lines.firstIndex { $0.spans.contains { $0.style == Style(.match) } } ?? 0) - 2)
    }

    /// A hit's snippet with the search's own highlight ranges marked.
    static func highlighted(_ hit: DataSearchHit) -> StyledLine {
        let chars = Array(hit.snippet)
        var marked = [Bool](repeating: false, count: chars.count)
        for h in hit.highlights where h.start >= 0 {
            for i in h.start..<min(chars.count, h.start + h.length) { marked[i] = true }
        }
        var line = StyledLine()
        for (c, m) in zip(chars, marked) { line.append(String(c), m ? Style(.match, bold: true) : Style(.normal)) }
        return line
    }

    /// The plain words of a query (for marking them in an open document).
    static func queryWords(_ query: String) -> [String] {
        query.split(whereSeparator: { !$0.isLetter && !$0.isNumber && $0 != "'" }).map(String.init)
            .filter { $0.count > 2 && !$0.hasPrefix("-") && !$0.contains(":") }
    }
}
