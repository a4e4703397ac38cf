import Foundation
import Model
import Techniques
import Workbench

/// Pane 5: hypotheses, notes, evidence pinned from the other panes, and the report's root cause and
/// behaviours. A compact list with a detail view; every write goes to the session file off the UI
/// thread, and "saved" is said only once it is on disk.
public struct NotebookState: Equatable, Sendable {
    public enum Editing: Equatable, Sendable {
        case none
        case note(EntryKind)
        case rootCause
        case behaviours
    }
    public var entries: [NotebookEntry] = []
    public var report = Report()
    public var selected = 0
    public var editing: Editing = .none
    /// The entry being edited, when editing an existing one (nil: a new one).
    public var editingID: Int64?
    public var input = TextField()
    public var scroll = 0
    /// The selected entry shown whole (`o`; `x` goes back to the list).
    public var detail = false
    /// What Esc left in the root cause and behaviours editors, offered again when they reopen.
    public var drafts: [String: String] = [:]

    /// Root cause and behaviours are multi-line editors (one behaviour per line, as the scorer reads
    /// them): Enter starts a line and Ctrl-S saves (issue 15, item 5). Notes save on Enter.
    public var editsLines: Bool { editing == .rootCause || editing == .behaviours }

    /// Where the editor's text is kept while it is not saved: Esc, leaving the pane, or a write
    /// that failed keep it there, and reopening the same editor brings it back.
    var draftKey: String? {
        switch editing {
        case .rootCause: return "root cause"
        case .behaviours: return "behaviours"
        case .note(let kind): return editingID.map { "entry #\($0)" } ?? kind.rawValue
        case .none: return nil
        }
    }

    /// The draft a write saves (cleared when the write is on disk; kept when it fails).
    static func draftKey(of write: NotebookWrite) -> String? {
        switch write {
        case .report(let rootCause, _): return rootCause != nil ? "root cause" : "behaviours"
        case .update(let id, _): return "entry #\(id)"
        case .add(let kind, _, _, let source, _): return source == "notebook" ? kind.rawValue : nil
        case .delete, .export: return nil
        }
    }
}

extension NotebookState: PaneModel {
    static let pane = Pane.notebook

    enum Action: Sendable { case addNote, addHypothesis, rootCause, behaviours, delete, edit, open, list, like, previous, next }

    static let bindings: [KeyBinding<Action>] = [
        KeyBinding([.char("a")], "add a note", hint: "note", .addNote),
        KeyBinding([.char("h")], "add a hypothesis", hint: "hypothesis", .addHypothesis),
        KeyBinding([.char("R")], "write the report's root cause (several lines: Enter starts a line, Ctrl-S saves)", hint: "root cause", .rootCause),
        KeyBinding([.char("B")], "write the behaviours, one per line (Enter starts a line, Ctrl-S saves)", hint: "behaviours", .behaviours),
        KeyBinding([.char("k"), .up], label: "j / k", "select an entry (in an open entry: the previous or next one)", .previous),
        KeyBinding([.char("j"), .down], "next entry", hidden: true, .next),
        KeyBinding([.char("o")], "open the selected entry whole (x: back to the list)", .open),
        KeyBinding([.char("x")], "back to the list", hidden: true, .list),
        KeyBinding([.char("e"), .enter], label: "e or Enter", "edit the selected entry", hint: "edit", .edit),
        KeyBinding([.char("D")], "delete the selected entry", hint: "delete", .delete),
        KeyBinding([.char("l")], "training data like the selected entry (Data pane, by meaning)", .like),
    ]

    mutating func update(_ action: Action, _ app: AppState) -> [Effect] {
        switch action {
        case .addNote: return startEditing(.note(.note))
        case .addHypothesis: return startEditing(.note(.hypothesis))
        case .rootCause: return startEditing(.rootCause)
        case .behaviours: return startEditing(.behaviours)
        case .delete:
            guard entries.indices.contains(selected) else { return [] }
            return [.write(.delete(id: entries[selected].id))]
        case .edit:
            guard entries.indices.contains(selected) else { return [] }
            let e = entries[selected]
            editing = .note(e.kind)
            editingID = e.id
            input.set(drafts["entry #\(e.id)"] ?? e.text)
            return [.focus(.input)]
        case .open:
            guard entries.indices.contains(selected) else { return [] }
            detail = true
            scroll = 0
            return []
        case .list:
            detail = false
            return [.keepSelectionInView]
        case .like:
            guard entries.indices.contains(selected) else { return [] }
            let e = entries[selected]
            return [.searchLike(text: e.text, label: "notebook entry “\(e.title.prefix(40))”")]
        case .previous, .next:
            guard !entries.isEmpty else { return [] }
            selected = min(max(0, selected + (action == .next ? 1 : -1)), entries.count - 1)
            if detail { scroll = 0; return [] }  // the next entry, from its top
            return [.keepSelectionInView]
        }
    }

    mutating func startEditing(_ what: Editing) -> [Effect] {
        editing = what
        editingID = nil
        switch what {
        case .rootCause: input.set(drafts["root cause"] ?? report.rootCause)
        case .behaviours: input.set(drafts["behaviours"] ?? report.behaviours)
        default: input.set(draftKey.flatMap { drafts[$0] } ?? "")
        }
        var effects: [Effect] = [.focus(.input)]
        if editsLines { effects.append(.say("Enter starts a new line, Ctrl-S saves, Esc leaves (the draft is kept)")) }
        return effects
    }

    /// A key in the editor: Enter saves a note; in the multi-line editors it starts a line and Ctrl-S saves.
    mutating func edit(_ key: Key) -> [Effect] {
        switch key {
        case .ctrl("s"): return save()
        case .enter where editsLines:
            input.insert("\n")
            return []
        case .enter: return save()
        case .tab: return []
        default:
            _ = input.handle(key)
            return []
        }
    }

    /// Esc in the editor (or leaving the pane): what was typed is kept as a draft, not saved;
    /// reopening the same editor brings it back.
    mutating func leave() -> [Effect] {
        var effects: [Effect] = []
        if let key = draftKey {
            let saved: String
            switch editing {
            case .rootCause: saved = report.rootCause
            case .behaviours: saved = report.behaviours
            default: saved = editingID.flatMap { id in entries.first { $0.id == id }?.text } ?? ""
            }
            if input.text != saved {
                drafts[key] = input.text
                let reopen: String
                switch editing {
                case .rootCause: reopen = "R reopens it, Ctrl-S saves"
                case .behaviours: reopen = "B reopens it, Ctrl-S saves"
                case .note(.hypothesis) where editingID == nil: reopen = "h reopens it"
                case .note where editingID == nil: reopen = "a reopens it"
                default: reopen = "e on the entry reopens it"
                }
                effects.append(.say("draft of the \(key) kept (not saved): \(reopen)"))
            } else {
                drafts[key] = nil
            }
        }
        editing = .none
        editingID = nil
        return effects
    }

    mutating func save() -> [Effect] {
        let text = input.text
        let write: NotebookWrite
        switch editing {
        case .rootCause: write = .report(rootCause: text, behaviours: nil)
        case .behaviours: write = .report(rootCause: nil, behaviours: text)
        case .note(let kind):
            guard !text.trimmingCharacters(in: .whitespaces).isEmpty else { return [.fail("empty note not saved")] }
            write = editingID.map { .update(id: $0, text: text) } ?? .add(kind, text: text, title: "", source: "notebook", provenance: nil)
        case .none: return []
        }
        // Kept until the write is on disk (a failed write leaves it for another try).
        if let key = draftKey { drafts[key] = text }
        editing = .none
        editingID = nil
        input.set("")
        return [.write(write), .focus(.normal)]
    }

    func view(_ app: AppState, width: Int) -> Screen.PaneView {
        var v = Screen.PaneView()
        v.header.append(StyledLine([Span("Notebook ", Style(.title)),
                                    Span("\(entries.count) entries │ session: \(app.sessionPath.map { URL(fileURLWithPath: $0).lastPathComponent } ?? "none (start with --session FILE)")", Style(.dim))]))
        v.body.append(StyledLine("Report", Style(.title, underline: true)))
        v.body.append(StyledLine("Root cause (R):", Style(.accent)))
        v.body += Wrap.lines(report.rootCause.isEmpty ? "(not written yet)" : report.rootCause, width: width, style: Style(report.rootCause.isEmpty ? .dim : .normal))
        v.body.append(StyledLine("Behaviours (B, one per line):", Style(.accent)))
        v.body += Wrap.lines(report.behaviours.isEmpty ? "(not written yet)" : report.behaviours, width: width, style: Style(report.behaviours.isEmpty ? .dim : .normal))
        if detail, entries.indices.contains(selected) {
            // One entry whole: its text and what produced it.
            let e = entries[selected]
            v.body.append(StyledLine())
            v.body.append(StyledLine("Entry #\(e.id) (\(selected + 1) of \(entries.count); j/k the next or previous, x the list)", Style(.title, underline: true)))
            v.body.append(StyledLine(Self.entryHead(e), Style(e.kind == .hypothesis ? .accent : .user, bold: true)))
            v.body += Wrap.lines(e.text, width: width, style: Style(.normal), indent: "  ")
            if let p = e.provenance {
                let settings = p.settings.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                let on = p.backend.map { " on \($0)" } ?? ""
                v.body += Wrap.lines("model \(p.model)\(on) adapter \(p.adapter ?? "none") seed \(p.seed.map(String.init) ?? "-") \(settings)", width: width, style: Style(.dim))
            }
        } else {
            v.body.append(StyledLine())
            v.body.append(StyledLine("Entries (j/k select, o open, e edit, D delete)", Style(.title, underline: true)))
            if entries.isEmpty {
                v.body += Wrap.lines("No entries yet: a adds a note, h a hypothesis; p in any pane pins its transcript or samples here.", width: width, style: Style(.dim))
            }
            // One line an entry: its head and the start of its text.
            for (i, e) in entries.enumerated() {
                let isSelected = i == selected
                let first = e.text.split(whereSeparator: \.isNewline).first.map { ScreenText.clean(String($0)) } ?? ""
                var line = StyledLine([Span(isSelected ? "› " : "  ", Style(.accent)),
                                       Span(Self.entryHead(e), Style(isSelected ? .selection : (e.kind == .hypothesis ? .accent : .user), bold: true))])
                let room = width - CellWidth.of(line.plain) - 3
                if room > 8, !first.isEmpty, first != e.title {
                    let (shown, _) = CellWidth.prefix(first, fitting: room)
                    line.append("  " + shown + (shown.count < first.count || e.text.contains("\n") ? "…" : ""), Style(.normal))
                }
                v.body.append(line)
            }
        }
        if editing != .none {
            let label: String
            switch editing {
            case .note(.hypothesis): label = editingID == nil ? "New hypothesis › " : "Edit hypothesis › "
            case .note: label = editingID == nil ? "New note › " : "Edit entry › "
            case .rootCause: label = "Root cause (Enter: new line, Ctrl-S: save) › "
            case .behaviours: label = "Behaviours, one per line (Enter: new line, Ctrl-S: save) › "
            case .none: label = ""
            }
            let (lines, cursor) = Screen.fieldLines(label: label, field: input, width: width, focused: app.focus == .input,
                                                    maxRows: editsLines ? 8 : 6, multiline: editsLines)
            v.bottom = lines
            v.cursor = cursor
        }
        return v
    }

    /// "#3 E chat  Chat: 4 turns", the list's and the detail's heading of an entry.
    static func entryHead(_ e: NotebookEntry) -> String {
        let tag = e.kind == .hypothesis ? "H" : e.kind == .evidence ? "E" : "N"
        return "#\(e.id) \(tag) \(e.source)" + (e.title.isEmpty ? "" : "  " + e.title)
    }

    func evidence(_ app: AppState) -> Evidence? { nil }
}
