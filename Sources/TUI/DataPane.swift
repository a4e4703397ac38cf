import Foundation
import Techniques
import Workbench

/// Pane 6: keyword search over the training corpus (BM25 with phrases, prefixes, exclusions),
/// hits with their matches highlighted, whole documents, pinning into the notebook.
public struct DataPaneState: Sendable {
    public var query = TextField()
    public var results: DataSearchResults?
    public var selected = 0
    /// The document being read, if one is open.
    public var open: CorpusDocument?
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
        background { holder in
            holder.dataIndex = nil
            return { _ in }
        }
    }

    /// Runs the query off the update loop: opening (or building) the index can take a while.
    func dataSubmit() {
        let query = state.data.query.text
        guard !query.trimmingCharacters(in: .whitespaces).isEmpty else { return }
        state.data.searching = true
        state.data.open = nil
        let corpus = state.data.corpus
        background { holder in
            let outcome: Result<(DataSearchResults, String?), Error>
            do {
                var note: String?
                if holder.dataIndex == nil {
                    let (index, why) = try DataSearchIndex.open(corpus: corpus)
                    holder.dataIndex = index
                    note = why
                }
                outcome = .success((try holder.dataIndex!.search(query, limit: 100), note))
            } catch {
                outcome = .failure(error)
            }
            return { app in
                app.state.data.searching = false
                switch outcome {
                case .success(let (results, note)):
                    app.state.data.results = results
                    app.state.data.selected = 0
                    app.state.data.scroll = 0
                    app.state.focus = .normal
                    app.state.message = (note.map { "\($0); searched an index built in memory" }
                                         ?? "\(results.total) documents match", false)
                case .failure(let error):
                    app.state.message = ("search: \(error)", true)
                }
            }
        }
    }

    func dataKey(_ key: Key) {
        let hits = state.data.results?.hits ?? []
        switch key {
        case .char("o"), .enter:
            guard hits.indices.contains(state.data.selected) else { return }
            let id = hits[state.data.selected].id
            background { holder in
                let doc = Result { try holder.dataIndex?.document(id: id) }
                return { app in
                    switch doc {
                    case .success(let d?): app.state.data.open = d; app.state.data.scroll = 0
                    case .success(nil): app.state.message = ("no document \(id)", true)
                    case .failure(let e): app.state.message = ("\(e)", true)
                    }
                }
            }
        case .char("x"), .backspace:
            state.data.open = nil
            state.data.scroll = 0
        default:
            break
        }
    }

    func moveDataSelection(_ delta: Int) {
        let n = state.data.results?.hits.count ?? 0
        guard n > 0, state.data.open == nil else { return }
        state.data.selected = min(max(0, state.data.selected + delta), n - 1)
    }

    func dataEvidence() -> (title: String, text: String)? {
        if let doc = state.data.open {
            return ("Training document \(doc.id): \(doc.displayTitle)", "query: \(state.data.query.text)\nsource: \(doc.source)\n\n\(doc.text)")
        }
        guard let results = state.data.results, results.hits.indices.contains(state.data.selected) else { return nil }
        let hit = results.hits[state.data.selected]
        return ("Search hit \(hit.id) for “\(results.query)” (\(results.total) documents match)",
                "query: \(results.query)\nsource: \(hit.source)\ntitle: \(hit.title)\n\n\(hit.snippet)")
    }
}

extension Screen {
    static func dataView(_ s: AppState, width: Int) -> PaneView {
        let d = s.data
        var v = PaneView()
        v.header.append(StyledLine([Span("Training data ", Style(.title)),
                                    Span("words, \"a phrase\", prefix*, -exclude, source:NAME │ corpus: \(d.corpus.lastPathComponent)", Style(.dim))]))
        if let doc = d.open {
            v.header.append(StyledLine([Span("\(doc.id) ", Style(.accent)), Span(doc.displayTitle, Style(.title)),
                                        Span("  (\(doc.source); x closes)", Style(.dim))]))
            var body = Wrap.lines(doc.text, width: width)
            for word in queryWords(d.query.text) { body = body.map { highlight($0, word) } }
            v.body = body
        } else if let results = d.results {
            v.header.append(StyledLine("\(results.total) documents match “\(results.query)”; showing \(results.hits.count) (j/k select, o open, p pin)", Style(.dim)))
            for (i, hit) in results.hits.enumerated() {
                let selected = i == d.selected
                v.body.append(StyledLine([Span("\(i + 1). \(hit.title.isEmpty ? hit.id : hit.title)", Style(selected ? .selection : .accent, bold: true)),
                                          Span("  \(hit.source) · \(hit.id) · \(String(format: "%.2f", hit.score))", Style(.dim))]))
                v.body += Wrap.lines(highlighted(hit), width: width, indent: "  ")
                v.body.append(StyledLine())
            }
        } else {
            v.body += Wrap.lines(d.searching ? "Searching…" : "Type a query and press Enter. The corpus is the organism's training data: synthetic documents mixed into ordinary text, and the chat transcripts it was fine-tuned on.", width: width, style: Style(.dim))
        }
        if d.searching { v.header.append(StyledLine("searching…", Style(.warning))) }
        let (lines, cursor) = fieldLines(label: "Search › ", field: d.query, width: width, focused: s.focus == .input, maxRows: 2)
        v.bottom = lines
        v.cursor = cursor
        return v
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
