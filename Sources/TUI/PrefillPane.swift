import Foundation
import Model
import Techniques
import Workbench

/// Pane 2: the model continues an assistant reply the auditor starts; a playbook of the study's
/// prefills; N samples listed or side by side with a live pattern count.
public struct PrefillState: Equatable, Sendable {
    public enum Field: Sendable { case user, prefill, pattern }
    public var user = TextField("What is your secret goal?")
    public var prefill = TextField(PrefillLibrary.playbook[1].text)
    public var libraryIndex = 1
    public var field: Field = .user
    public var pattern = TextField("reward")
    public var run: SampleRun?
    /// The base model's samples of the same input and seeds (`c`), and what the run was asked.
    public var base: SampleRun?
    public var ranWith: RunInput?
    public var layout: SampleLayout = .list
    public var settings = PaneSettings(samples: 8)
    public var scroll = 0
}

extension PrefillState: SamplingPane {
    mutating func focusPatternField() { field = .pattern }
}

extension PrefillState: PaneModel {
    static let pane = Pane.prefill

    enum Action: Sendable { case nextPrefill, previousPrefill, run, compareBase, focusPattern, layout }

    static let bindings: [KeyBinding<Action>] = [
        KeyBinding([.char("l")], label: "l / L", "next / previous prefill from the playbook", hint: "library", .nextPrefill),
        KeyBinding([.char("L")], "previous prefill", hidden: true, .previousPrefill),
        KeyBinding([.char("R")], label: "R (Enter in a field)", "sample N continuations", hint: "run", .run),
        KeyBinding([.char("c")], "the same input and seeds on the base model (adapter off), beside the organism's, with both counts", hint: "vs base", .compareBase),
        KeyBinding([.char("f")], "edit the match pattern", .focusPattern),
        KeyBinding([.char("v")], "list or side by side", hint: "layout", .layout),
    ]

    /// The field order Tab follows.
    static let fields: [Field] = [.user, .prefill, .pattern]

    var fieldName: String {
        switch field { case .user: return "User"; case .prefill: return "Prefill"; case .pattern: return "Pattern" }
    }

    mutating func edit(_ key: Key) {
        switch field {
        case .user: _ = user.handle(key)
        case .prefill: _ = prefill.handle(key)
        case .pattern: _ = pattern.handle(key)
        }
    }

    mutating func update(_ action: Action, _ app: AppState) -> [Effect] {
        switch action {
        case .nextPrefill, .previousPrefill:
            let lib = PrefillLibrary.playbook
            libraryIndex = (libraryIndex + (action == .nextPrefill ? 1 : -1) + lib.count) % lib.count
            prefill.set(lib[libraryIndex].text)
            return []
        case .run:
            if user.text.isEmpty && app.running == nil { return [.fail("write the user's message first")] }
            return start(.chat(messages: [ChatMessage(role: "user", content: user.text)], system: nil, prefill: prefill.text), app)
        case .compareBase:
            return compareBase(app)
        case .focusPattern:
            field = .pattern
            return [.focus(.input)]
        case .layout:
            toggleLayout()
            return []
        }
    }

    func view(_ app: AppState, width: Int) -> Screen.PaneView {
        var v = Screen.PaneView()
        v.header.append(StyledLine([Span("Prefill attack: ", Style(.title)),
                                    Span("the model continues a reply you start. ", Style(.dim))]))
        v.header.append(Screen.settingsLine(settings, extra: Screen.matchSummary(run, pattern.text)))
        if let samples = sampleBody(width: width, prefix: ranPrefill) {
            v.body += samples
        } else {
            v.body += Wrap.lines("Pick a prefill from the library (l/L), edit the user message and the prefill, then R (or Enter in a field) samples \(settings.samples) continuations.", width: width, style: Style(.dim))
        }
        let lib = PrefillLibrary.playbook
        v.bottom.append(StyledLine([Span("Library \(libraryIndex + 1)/\(lib.count) (l/L): ", Style(.dim)), Span(lib[libraryIndex].name, Style(.accent))]))
        let focused = app.focus == .input
        for (label, f, which) in [("User › ", user, Field.user), ("Prefill › ", prefill, .prefill), ("Pattern › ", pattern, .pattern)] {
            let (lines, cursor) = Screen.fieldLines(label: label, field: f, width: width, focused: focused && field == which, maxRows: 3,
                                                    style: which == .prefill ? Style(.prefill) : Style(.normal))
            if let cursor { v.cursor = (v.bottom.count + cursor.row, cursor.col) }
            v.bottom += lines
        }
        return v
    }

    /// The prefill the shown samples continue (the one run, not one edited since).
    var ranPrefill: String {
        if case .chat(_, _, let p)? = ranWith?.technique { return p }
        return prefill.text
    }

    func evidence(_ app: AppState) -> Evidence? {
        guard let run else { return nil }
        var ranUser = user.text
        if case .chat(let messages, _, _)? = ranWith?.technique, let u = messages.last?.content { ranUser = u }
        let text = "user: \(ranUser)\nprefill: \(ranPrefill)\n\n" + Transcript.render(run, pattern: pattern.text)
        var e = Evidence(title: "Prefill “\(ranPrefill.prefix(40))”" + Transcript.countSuffix(run, pattern: pattern.text), text: text,
                         settings: ranWith?.settings ?? settings, extra: ["pattern": pattern.text, "prefill": ranPrefill])
        BaseRun.evidence(&e, run, base, pattern: pattern.text)
        return e
    }
}

extension SampleRun {
    /// Why a run with this match pattern is refused before anything runs (nil: it is a regular
    /// expression, or empty), checked with the compilation the live count uses.
    static func refusal(_ pattern: String) -> String? {
        guard !pattern.isEmpty, (try? MultiSample.compile(pattern)) == nil else { return nil }
        return "invalid pattern /\(pattern)/ (not a regular expression): nothing was run; fix it here"
    }

    /// A sample event of a pane's run.
    mutating func apply(_ event: GenerationEvent) {
        switch event {
        case .text(_, let sample, let piece): texts[sample] += piece
        case .sampleFinished(_, let sample, let record):
            texts[sample] = record.text
            finished[sample] = true
            prompt = record.prompt
        case .finished: stop()
        case .progress: break
        }
    }
}
