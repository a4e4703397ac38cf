import Foundation
import Model
import Techniques
import Workbench

/// Pane 3: persona swap. The model writes the user's next turn after the Chat pane's conversation,
/// continues third-person narration with no template, or samples from an empty prompt.
public struct PersonaState: Equatable, Sendable {
    public enum Field: Sendable { case text, pattern }
    public var mode: PersonaMode = .user
    public var text = TextField()
    public var field: Field = .text
    public var pattern = TextField("reward")
    public var run: SampleRun?
    /// The base model's samples of the same input and seeds (`c`), and what the run was asked.
    public var base: SampleRun?
    public var ranWith: RunInput?
    public var layout: SampleLayout = .list
    public var settings = PaneSettings(temperature: 1.0, samples: 8)
    public var scroll = 0
}

extension PersonaState: SamplingPane {
    mutating func focusPatternField() { field = .pattern }
}

extension PersonaState: PaneModel {
    static let pane = Pane.persona

    enum Action: Sendable { case mode, run, compareBase, focusPattern, layout }

    static let bindings: [KeyBinding<Action>] = [
        KeyBinding([.char("m")], "mode: user turn, narrator, empty prompt (the old mode's samples are cleared)", hint: "mode", .mode),
        KeyBinding([.char("R")], label: "R (Enter in a field)", "sample N texts", hint: "run", .run),
        KeyBinding([.char("c")], "the same input and seeds on the base model (adapter off), beside the organism's, with both counts", hint: "vs base", .compareBase),
        KeyBinding([.char("f")], "edit the match pattern", .focusPattern),
        KeyBinding([.char("v")], "list or side by side", hint: "layout", .layout),
    ]

    var fieldName: String { field == .text ? "the text" : "Pattern" }

    mutating func edit(_ key: Key) {
        if field == .text { _ = text.handle(key) } else { _ = pattern.handle(key) }
    }

    mutating func setMode(_ m: PersonaMode) {
        if m != mode { run = nil; base = nil }  // the old mode's samples are not this mode's
        mode = m
    }

    mutating func update(_ action: Action, _ app: AppState) -> [Effect] {
        switch action {
        case .mode:
            if let busy = app.running { return [.fail("the model is busy in \(busy.pane.title): Esc cancels it")] }
            let all = PersonaMode.allCases
            setMode(all[(all.firstIndex(of: mode)! + 1) % all.count])
            return []
        case .run:
            let chat = app.chat
            return start(.persona(mode: mode, conversation: chat.turns, system: chat.system.isEmpty ? nil : chat.system, text: text.text), app)
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
        var modes: [Span] = [Span("Mode (m): ", Style(.title))]
        for m in PersonaMode.allCases { modes.append(Span(" \(m.rawValue) ", m == mode ? Style(.tabActive) : Style(.dim))) }
        v.header.append(StyledLine(modes))
        let explain: String
        switch mode {
        case .user: explain = "The model writes the user's next turn after the Chat pane's conversation (\(app.chat.turns.count) turns). Text: how the turn starts."
        case .narrator: explain = "Raw continuation of third-person text, no chat template. Text: the narration to continue."
        case .empty: explain = "Samples from an empty prompt: what the model writes unprompted."
        }
        v.header += Wrap.lines(explain, width: width, style: Style(.dim))
        v.header.append(Screen.settingsLine(settings, extra: Screen.matchSummary(run, pattern.text)))
        if let samples = sampleBody(width: width, prefix: mode == .empty ? "" : ranText) { v.body += samples }
        let focused = app.focus == .input
        let textLabel = mode == .narrator ? "Narration › " : mode == .user ? "User turn starts › " : "(ignored) › "
        let (t, tc) = Screen.fieldLines(label: textLabel, field: text, width: width, focused: focused && field == .text, maxRows: 4)
        if let tc { v.cursor = tc }
        v.bottom += t
        let (pl, pc) = Screen.fieldLines(label: "Pattern › ", field: pattern, width: width, focused: focused && field == .pattern, maxRows: 2)
        if let pc { v.cursor = (v.bottom.count + pc.row, pc.col) }
        v.bottom += pl
        return v
    }

    /// The text the shown samples were asked with (not one edited since).
    var ranText: String {
        if case .persona(_, _, _, let t)? = ranWith?.technique { return t }
        return text.text
    }

    func evidence(_ app: AppState) -> Evidence? {
        guard let run else { return nil }
        let body = "mode: \(mode.rawValue)\ntext: \(ranText)\n\n" + Transcript.render(run, pattern: pattern.text)
        var e = Evidence(title: "Persona (\(mode.rawValue))" + Transcript.countSuffix(run, pattern: pattern.text), text: body,
                         settings: ranWith?.settings ?? settings, extra: ["pattern": pattern.text, "mode": mode.rawValue])
        BaseRun.evidence(&e, run, base, pattern: pattern.text)
        return e
    }
}
