import Foundation
import Model
import Techniques
import Workbench

// The shape every pane has (Bubble Tea's update/view, ratatui's render into a buffer, lazygit's
// bindings): a pane owns its state; `update` applies an action and returns the effects the app must
// run (generation, notebook writes, searches); `view` lays the pane out for `render`; `bindings` are
// the one table its keys, its help, the footer and the README's key table all come from; `evidence`
// is exactly what `p` pins.

/// One key binding: the keys, how the help, footer and README write them, what they do, the
/// footer's word for it (nil: help only), when it applies (nil: always), and the action it sends.
public struct KeyBinding<Action: Sendable>: Sendable {
    public let keys: [Key]
    public let label: String
    public let help: String
    public let hint: String?
    let when: (@Sendable (AppState) -> Bool)?
    public let action: Action
    /// Covered by another binding's label (j by "j k ↑ ↓"): left out of the help and the README.
    let hidden: Bool

    init(_ keys: [Key], label: String? = nil, _ help: String, hint: String? = nil, hidden: Bool = false,
         when: (@Sendable (AppState) -> Bool)? = nil, _ action: Action) {
        self.keys = keys
        self.hidden = hidden
        self.label = label ?? keys.map(\.label).joined(separator: " / ")
        self.help = help
        self.hint = hint
        self.when = when
        self.action = action
    }

    public var doc: BindingDoc? { hidden ? nil : BindingDoc(label: label, help: help, hint: hint) }

    func applies(_ key: Key, _ state: AppState) -> Bool { keys.contains(key) && (when?(state) ?? true) }
}

/// A binding as documentation: what the help overlay, the footer and the README show.
public struct BindingDoc: Equatable, Sendable {
    public let label: String
    public let help: String
    public let hint: String?
}

/// What a pane pins: a title, the text, and the settings that made it.
public struct Evidence: Sendable {
    public var title: String
    public var text: String
    public var settings: PaneSettings
    /// Settings beyond sampling (pattern, prefill, mode), recorded in the provenance.
    public var extra: [String: String] = [:]
}

/// A write to the session file. The app runs it on the notebook's own queue, never on the UI
/// thread, and reports "saved" only when the write is on disk.
public enum NotebookWrite: Sendable {
    case add(EntryKind, text: String, title: String, source: String, provenance: Provenance?)
    case update(id: Int64, text: String)
    case delete(id: Int64)
    case report(rootCause: String?, behaviours: String?)
    case export(format: String, path: String)
}

/// What a pane's update asks the app to do.
public enum Effect: Sendable {
    case message(String, error: Bool)
    case focus(Focus)
    /// Start a generation for the pane (refused by the app while another runs); `adapterOff`: on
    /// the base model, for comparing with the organism's samples of the same seeds.
    case generate(GenerationJob.Technique, PaneSettings, samples: Int, adapterOff: Bool = false)
    case write(NotebookWrite)
    case reloadNotebook
    /// Search the training data (Data pane) for documents like `text`.
    case searchLike(text: String, label: String)
    case openDocument(id: String, chunk: MatchedChunk?)
    case features(FeatureRequest)
    case keepSelectionInView
    case save(Pane)
    /// A pane's conversation starts again: its context use is 0.
    case clearContext(Pane)

    static func say(_ text: String) -> Effect { .message(text, error: false) }
    static func fail(_ text: String) -> Effect { .message(text, error: true) }
}

/// The Features pane's work on the model, run by the app on the model's queue.
public enum FeatureRequest: Sendable {
    case read(text: String, source: String)
    case transcript
    case search(String)
    case detail
    case steer
    case fuzz
    case assistant
    /// The prompt's (or transcript's) features on the organism and on the base model: organism minus base.
    case compareBase
}

/// What a pane's last run was asked, so the base model can be run on exactly the same input and
/// seeds (`c`), whatever was edited since.
public struct RunInput: Equatable, Sendable {
    public var technique: GenerationJob.Technique
    public var settings: PaneSettings
    public var samples: Int
}

/// What the Prefill and Persona panes share: a run of N samples with a live pattern count, the
/// base model's run beside it, and what the run was asked.
protocol SamplingPane {
    var pattern: TextField { get }
    var run: SampleRun? { get set }
    var base: SampleRun? { get set }
    var ranWith: RunInput? { get set }
    var layout: SampleLayout { get set }
    var settings: PaneSettings { get }
    var scroll: Int { get set }
    /// Puts the typing into the pane's pattern field.
    mutating func focusPatternField()
}

extension SamplingPane {
    /// Starts a run of `technique` (refused while the model is busy or the pattern is not a regular
    /// expression), remembering what it asked so `c` can ask the base model the same.
    mutating func start(_ technique: GenerationJob.Technique, _ app: AppState) -> [Effect] {
        if let busy = app.running { return [.fail("the model is busy in \(busy.pane.title): Esc cancels it")] }
        if let refusal = SampleRun.refusal(pattern.text) {
            focusPatternField()
            return [.fail(refusal), .focus(.input)]
        }
        run = SampleRun(count: settings.samples, seed: settings.seed)
        base = nil
        scroll = 0
        ranWith = RunInput(technique: technique, settings: settings, samples: settings.samples)
        return [.generate(technique, settings, samples: settings.samples)]
    }

    mutating func compareBase(_ app: AppState) -> [Effect] { BaseRun.start(ranWith, run, app, into: &base) }

    mutating func toggleLayout() { layout = layout == .list ? .columns : .list }

    /// The samples (beside the base model's when `c` ran), each after `prefix`; nil before a run.
    func sampleBody(width: Int, prefix: String) -> [StyledLine]? {
        guard let run else { return nil }
        if let base { return Screen.comparisonLines(run, base, pattern: pattern.text, width: width, prefix: prefix) }
        return Screen.sampleLines(run, pattern: pattern.text, layout: layout, width: width, title: "Samples", prefix: prefix)
    }
}

enum BaseRun {
    /// `c`: the base model (the adapter off) on the last run's input and seeds, shown beside it.
    static func start(_ ran: RunInput?, _ run: SampleRun?, _ app: AppState, into base: inout SampleRun?, what: String = "R") -> [Effect] {
        if let busy = app.running { return [.fail("the model is busy in \(busy.pane.title): Esc cancels it")] }
        guard let ran, let run, !run.finished.contains(false), run.requested == nil else {
            return [.fail("run first (\(what)); then c runs the same input and seeds on the base model")]
        }
        base = SampleRun(count: ran.samples, seed: ran.settings.seed)
        return [.generate(ran.technique, ran.settings, samples: ran.samples, adapterOff: true),
                .say("the same input and seeds on the base model (adapter off)…")]
    }

    /// The pin's text and title with the base model's samples beside the organism's.
    static func evidence(_ e: inout Evidence, _ run: SampleRun, _ base: SampleRun?, pattern: String) {
        guard let base else { return }
        e.text += "\n\nbase model (adapter off), same input and seeds:\n" + Transcript.render(base, pattern: pattern)
        e.title += " │ " + Screen.comparisonSummary(run, base, pattern)
        e.extra["compared_with"] = "base model (adapter off)"
    }
}

/// A pane: its state, its update, its view, its bindings and its evidence.
protocol PaneModel: Sendable {
    associatedtype Action: Sendable
    static var pane: Pane { get }
    static var bindings: [KeyBinding<Action>] { get }
    /// Applies an action; `app` is the rest of the state, read only.
    mutating func update(_ action: Action, _ app: AppState) -> [Effect]
    /// The pane laid out at `width` cells (`Screen.drawPane` renders it into the buffer).
    func view(_ app: AppState, width: Int) -> Screen.PaneView
    /// Exactly what `p` pins: the selected item, the sample set, the transcript.
    func evidence(_ app: AppState) -> Evidence?
}

extension PaneModel {
    static var docs: [BindingDoc] { bindings.compactMap(\.doc) }

    /// The action bound to `key` in this state, if any.
    static func action(for key: Key, _ state: AppState) -> Action? {
        bindings.first { $0.applies(key, state) }?.action
    }

    /// Renders the pane into `area` of the buffer.
    func render(into buf: inout CellBuffer, area: Rect, _ app: AppState) {
        Screen.drawPane(view(app, width: area.width - 2), app, Self.pane, area, &buf)
    }
}

/// Keys of the whole workbench, outside a text field (a pane's own binding of the same key wins).
enum GlobalAction: Sendable {
    case focusInput, help, palette, search, quit, nextMatch, previousMatch, pin, scrollUp, scrollDown
    case pageUp, pageDown, top, bottom, warmer, cooler, nextPane, previousPane, cancel
}

enum Bindings {
    /// Keys that work in every pane (listed first in the help).
    static let global: [KeyBinding<GlobalAction>] = [
        KeyBinding([.escape], "cancel a running generation (in a field: leave it, then bare keys work)", .cancel),
        KeyBinding([.char("i"), .enter], label: "i, Enter", "into the pane's main text field (Enter in a field sends, runs or saves)",
                   hint: "type", .focusInput),
        KeyBinding([.tab], label: "1 … 6, Tab, Shift-Tab", "switch panes (Tab in a field: its next field, or the next pane in a pane with one; Alt-1 … Alt-6 from anywhere)", .nextPane),
        KeyBinding([.backTab], "the previous pane", hidden: true, .previousPane),
        KeyBinding([.char("?")], "this help (j k scroll, / filters)", hint: "help", .help),
        KeyBinding([.char(":")], "command palette (Tab completes commands and their arguments)", .palette),
        KeyBinding([.char("/")], "search in the pane", .search),
        KeyBinding([.char("n")], label: "n / N", "next / previous search match", .nextMatch),
        KeyBinding([.char("N")], label: "N", "previous search match", hidden: true, .previousMatch),
        KeyBinding([.char("k"), .up], label: "j k ↑ ↓", "scroll (select in lists)", .scrollUp),
        KeyBinding([.char("j"), .down], label: "j", "scroll down", hidden: true, .scrollDown),
        KeyBinding([.pageUp, .ctrl("b")], label: "PgUp PgDn g G", "scroll a page, to the start, to the end", .pageUp),
        KeyBinding([.pageDown, .ctrl("f")], label: "PgDn", "a page down", hidden: true, .pageDown),
        KeyBinding([.char("g"), .home], label: "g", "to the start", hidden: true, .top),
        KeyBinding([.char("G"), .end], label: "G", "to the end", hidden: true, .bottom),
        KeyBinding([.char("p")], "pin exactly what is selected (transcript, samples, hit, feature) into the notebook", hint: "pin", .pin),
        KeyBinding([.char("+")], label: "+ / -", "temperature up / down", .warmer),
        KeyBinding([.char("-")], label: "-", "temperature down", hidden: true, .cooler),
        KeyBinding([.char("q")], "quit (outside a text field; Ctrl-C always)", .quit),
    ]

    /// Keys a text field takes (documentation only: `TextField.handle` implements them).
    static let field: [BindingDoc] = [
        BindingDoc(label: "Ctrl-A/E/U/K/W", help: "in a field: start, end, clear before, clear after, delete word", hint: nil),
        BindingDoc(label: "Alt-1 … Alt-6", help: "switch pane from anywhere, also while typing", hint: nil),
        BindingDoc(label: "Ctrl-C", help: "quit, always (the terminal is restored)", hint: nil),
    ]

    /// The global keys as the help shows them.
    static var globalDocs: [BindingDoc] { global.compactMap(\.doc) + field }

    /// The documented bindings of a pane, from its own table.
    static func docs(_ pane: Pane) -> [BindingDoc] {
        switch pane {
        case .chat: return ChatState.docs
        case .prefill: return PrefillState.docs
        case .persona: return PersonaState.docs
        case .features: return FeaturesPaneState.docs
        case .notebook: return NotebookState.docs
        case .data: return DataPaneState.docs
        }
    }

    /// The footer's hints of a pane: its bindings with a footer word that apply in this state.
    static func hints(_ pane: Pane, _ state: AppState) -> [(label: String, hint: String)] {
        func from<A>(_ bindings: [KeyBinding<A>]) -> [(label: String, hint: String)] {
            bindings.compactMap { b in b.hint.flatMap { h in b.when?(state) == false ? nil : (b.label, h) } }
        }
        switch pane {
        case .chat: return from(ChatState.bindings)
        case .prefill: return from(PrefillState.bindings)
        case .persona: return from(PersonaState.bindings)
        case .features: return from(FeaturesPaneState.bindings)
        case .notebook: return from(NotebookState.bindings)
        case .data: return from(DataPaneState.bindings)
        }
    }

    /// The README's key table, made from the bindings (`workbench keys` prints it; a test holds the
    /// README to it).
    static func markdownTable() -> String {
        var rows = ["| where | key | does |", "|---|---|---|"]
        func cell(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|") }
        for d in globalDocs { rows.append("| everywhere | \(cell(d.label)) | \(cell(d.help)) |") }
        for pane in Pane.allCases {
            for d in docs(pane) { rows.append("| \(pane.rawValue) \(pane.title) | \(cell(d.label)) | \(cell(d.help)) |") }
        }
        for c in App.commands { rows.append("| palette | `:\(cell(c.name))` | \(cell(c.help)) |") }
        return rows.joined(separator: "\n") + "\n"
    }
}

public enum KeyTable {
    /// The key table in Markdown, as the README carries it between its markers.
    public static var markdown: String { Bindings.markdownTable() }
    /// The keys of every pane, and of one pane, as the help lists them.
    public static var global: [BindingDoc] { Bindings.globalDocs }
    public static func pane(_ pane: Pane) -> [BindingDoc] { Bindings.docs(pane) }
    public static let beginMarker = "<!-- keys: generated by `workbench keys` from the panes' bindings; do not edit by hand -->"
    public static let endMarker = "<!-- end of keys -->"

    /// `text` with the table between its markers made anew; nil when the markers are missing.
    public static func replace(in text: String) -> String? {
        guard let a = text.range(of: beginMarker), let b = text.range(of: endMarker, range: a.upperBound..<text.endIndex) else { return nil }
        return String(text[..<a.upperBound]) + "\n" + markdown + String(text[b.lowerBound...])
    }

    /// The table the README holds between its markers, if it has them.
    public static func current(in text: String) -> String? {
        guard let a = text.range(of: beginMarker), let b = text.range(of: endMarker, range: a.upperBound..<text.endIndex) else { return nil }
        return String(text[a.upperBound..<b.lowerBound]).trimmingCharacters(in: .newlines) + "\n"
    }
}
