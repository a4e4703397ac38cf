import Foundation
import Model
import Techniques
import Workbench

/// How a turn was made: the system prompt in force when it was sent or generated and, for the
/// model's turns, the sampling settings and the seed (issue 15, item 11: a pin shows each turn with
/// its own settings, not the ones set afterwards).
public struct TurnSettings: Equatable, Codable, Sendable {
    public var system: String
    public var temperature: Float?
    public var topP: Float?
    public var maxTokens: Int?
    public var seed: UInt64?

    static func user(system: String) -> TurnSettings { TurnSettings(system: system) }

    static func reply(system: String, _ s: PaneSettings, seed: UInt64) -> TurnSettings {
        TurnSettings(system: system, temperature: s.temperature, topP: s.topP, maxTokens: s.maxTokens, seed: seed)
    }

    var sampling: String? {
        guard let t = temperature, let seed else { return nil }
        return String(format: "T %.2f, top-p %.2f, max %d, seed %llu", t, topP ?? 1, maxTokens ?? 0, seed)
    }
}

/// One version of the conversation: an edit, a regeneration or a sample made the reply starts another.
public struct Branch: Equatable, Codable, Sendable {
    public var turns: [ChatMessage] = []
    /// Parallel to `turns` (nil for turns of sessions saved before settings were kept per turn).
    public var made: [TurnSettings?] = []
}

/// Pane 1: a conversation with its branches, sampling the next reply N times with a live pattern count.
public struct ChatState: Equatable, Sendable {
    public var system = ""
    /// The current branch's turns and how each was made. A change of turns drops the base model's
    /// comparison, which was of the old last reply.
    public var turns: [ChatMessage] = [] { didSet { base = nil; replyRun = nil } }
    public var made: [TurnSettings?] = []
    /// The other branches, in the order they were made; the current one sits at `position` among them.
    public var branches: [Branch] = []
    public var position = 0
    public var input = TextField()
    public var editingSystem = false
    /// The message being typed when `s` took the field for the system prompt (put back after).
    var messageDraft: TextField?
    /// The user turn being edited (`e`): sending it starts a new branch from there; until then the
    /// conversation is unchanged.
    public var editingTurn: Int?
    /// How the reply being generated is made: fixed when its job starts.
    var pendingReply: TurnSettings?
    /// The assistant text streaming in now.
    public var streaming: String?
    /// Samples of the next reply (`S`), if asked for, and the one selected with < and >.
    public var samples: SampleRun? { didSet { if samples == nil { base = nil } } }
    public var selectedSample = 0
    /// What the samples were asked (`c` runs exactly that on the base model).
    var samplesRanWith: RunInput?
    /// The base model's samples (or reply) of the same input and seeds (`c`), and, when it compares
    /// the last reply, that reply as a one-sample run.
    public var base: SampleRun?
    public var replyRun: SampleRun?
    public var pattern = TextField()
    public var selectedTurn: Int?
    public var settings = PaneSettings()
    public var scroll = 0
    var transcriptArtifact: Int64?

    /// "3/13": the current branch's place among all of them.
    public var branchLabel: String { "\(position + 1)/\(branches.count + 1)" }

    var current: Branch { Branch(turns: turns, made: made.count == turns.count ? made : turns.map { _ in nil }) }

    mutating func append(_ message: ChatMessage, _ how: TurnSettings) {
        if made.count != turns.count { made = turns.map { _ in nil } }
        turns.append(message)
        made.append(how)
    }

    mutating func truncate(to count: Int) {
        turns.removeSubrange(count...)
        if made.count > count { made.removeSubrange(count...) }
    }

    /// Keeps the current conversation as a branch where it stands; the new one goes last.
    mutating func keepAsBranch() {
        guard !turns.isEmpty else { return }
        branches.insert(current, at: position)
        position = branches.count
    }

    /// Moves to branch `index` (0-based among all branches, the current one included).
    mutating func switchBranch(to index: Int) {
        guard index != position, (0...branches.count).contains(index) else { return }
        var all = branches
        all.insert(current, at: position)
        let target = all.remove(at: index)
        branches = all
        position = index
        turns = target.turns
        made = target.made
        samples = nil
        selectedTurn = nil
    }

    /// The branches that agree with the current one before turn `turn` and have that turn: the
    /// alternatives to it (the current branch among them), as indices among all branches.
    func siblings(at turn: Int) -> [Int] {
        var all = branches
        all.insert(current, at: position)
        let prefix = Array(turns.prefix(turn))
        // One branch per distinct text of the turn (the current one for its own).
        func key(_ m: ChatMessage) -> String { m.role + "\u{0}" + m.content }
        var seen: [String: Int] = [:]
        if turns.indices.contains(turn) { seen[key(turns[turn])] = position }
        for i in all.indices where all[i].turns.count > turn && Array(all[i].turns.prefix(turn)) == prefix && seen[key(all[i].turns[turn])] == nil {
            seen[key(all[i].turns[turn])] = i
        }
        return seen.values.sorted()
    }
}

extension ChatState: PaneModel {
    static let pane = Pane.chat

    enum Action: Sendable {
        case regenerate, editTurn, previousTurn, nextTurn, nextBranch, previousBranch, previousSibling, nextSibling
        case editSystem, newConversation, sampleReply, previousSample, nextSample, useSample, focusPattern, compareBase
    }

    static let bindings: [KeyBinding<Action>] = [
        KeyBinding([.char("r")], "regenerate the last reply (the old one stays as a branch)", hint: "regenerate", .regenerate),
        KeyBinding([.char("e")], "edit the selected (or last) user turn: sending it starts a new branch", hint: "edit turn", .editTurn),
        KeyBinding([.char("[")], label: "[ ]", "select an earlier or later turn", .previousTurn),
        KeyBinding([.char("]")], "select a later turn", hidden: true, .nextTurn),
        KeyBinding([.char("b")], label: "b / B", "next / previous branch (the header says which: branch 3/13)", .nextBranch),
        KeyBinding([.char("B")], "previous branch", hidden: true, .previousBranch),
        KeyBinding([.char("{")], label: "{ }", "the selected turn's alternatives: branches that agree up to it and differ there", .previousSibling),
        KeyBinding([.char("}")], "next alternative of the selected turn", hidden: true, .nextSibling),
        KeyBinding([.char("s")], "edit the system prompt (Enter sets it for the next reply)", hint: "system", .editSystem),
        KeyBinding([.char("S")], "sample the reply N times (:set samples N), with the pattern's live count", hint: "sample ×N", .sampleReply),
        KeyBinding([.char("<")], label: "< >", "select a sample of the reply", .previousSample),
        KeyBinding([.char(">")], "next sample", hidden: true, .nextSample),
        KeyBinding([.char("u")], "use the selected sample as the reply (the conversation goes on from it)", .useSample),
        KeyBinding([.char("c")], "the same on the base model (adapter off): the samples of the reply (S), else the last reply with its seed, beside the organism's", hint: "vs base", .compareBase),
        KeyBinding([.char("f")], "the match pattern (:pattern REGEX)", .focusPattern),
        KeyBinding([.char("x")], "new conversation (the old one stays as a branch)", .newConversation),
    ]

    mutating func update(_ action: Action, _ app: AppState) -> [Effect] {
        if let busy = app.running, [.regenerate, .editTurn, .nextBranch, .previousBranch, .previousSibling, .nextSibling,
                                    .newConversation, .sampleReply, .useSample, .compareBase].contains(action) {
            return [.fail("the model is busy in \(busy.pane.title): Esc cancels it")]
        }
        switch action {
        case .regenerate:
            guard let lastUser = turns.lastIndex(where: { $0.role == "user" }) else { return [.fail("nothing to regenerate")] }
            if lastUser < turns.count - 1 { keepAsBranch() }
            truncate(to: lastUser + 1)
            settings.seed &+= 1
            samples = nil
            return reply(samples: 1)
        case .editTurn:
            guard let index = selectedTurn.flatMap({ turns.indices.contains($0) && turns[$0].role == "user" ? $0 : nil })
                    ?? turns.lastIndex(where: { $0.role == "user" }) else { return [.fail("no user turn to edit")] }
            editingTurn = index
            editingSystem = false
            input.set(turns[index].content)
            selectedTurn = nil
            return [.focus(.input), .say("editing turn \(index + 1): Enter sends it as a new branch from there (the conversation is unchanged until then)")]
        case .previousTurn, .nextTurn:
            guard !turns.isEmpty else { return [] }
            let current = selectedTurn ?? turns.count
            selectedTurn = min(max(0, current + (action == .previousTurn ? -1 : 1)), turns.count - 1)
            return []
        case .nextBranch, .previousBranch:
            guard !branches.isEmpty else { return [.say("no other branch")] }
            let n = branches.count + 1
            switchBranch(to: (position + (action == .nextBranch ? 1 : n - 1)) % n)
            return [.say("branch \(branchLabel)")]
        case .previousSibling, .nextSibling:
            let turn = selectedTurn ?? max(0, turns.count - 1)
            let alternatives = siblings(at: turn)
            guard alternatives.count > 1, let here = alternatives.firstIndex(of: position) else {
                return [.say("turn \(turn + 1) has no alternatives (r, e or u make them)")]
            }
            let next = alternatives[(here + (action == .nextSibling ? 1 : alternatives.count - 1)) % alternatives.count]
            switchBranch(to: next)
            selectedTurn = min(turn, turns.count - 1)
            return [.say("turn \(turn + 1): alternative \(siblings(at: turn).firstIndex(of: position)! + 1)/\(alternatives.count) (branch \(branchLabel))")]
        case .editSystem:
            if !editingSystem { messageDraft = input }
            editingSystem = true
            input.set(system)
            return [.focus(.input), .say("editing the system prompt: Enter sets it, Esc leaves it as it was")]
        case .newConversation:
            let kept = !turns.isEmpty
            let at = position
            keepAsBranch()
            turns = []
            made = []
            samples = nil
            editingTurn = nil
            transcriptArtifact = nil
            return [.clearContext(.chat), .say(kept ? "new conversation (the old one is branch \(at + 1)/\(branches.count + 1): b / B)" : "new conversation")]
        case .sampleReply:
            guard let last = turns.last?.role, last == "user" || last == "assistant" else { return [.fail("send a message first")] }
            if last == "assistant" {
                // Sample alternatives to the last reply, leaving the conversation as it is.
                keepAsBranch()
                truncate(to: turns.count - 1)
            }
            selectedSample = 0
            return reply(samples: max(2, settings.samples == 1 ? 8 : settings.samples))
        case .previousSample, .nextSample:
            guard let run = samples, !run.texts.isEmpty else { return [.say("no samples: S samples the reply")] }
            selectedSample = min(max(0, selectedSample + (action == .nextSample ? 1 : -1)), run.texts.count - 1)
            return [.say("sample \(selectedSample + 1) of \(run.texts.count) selected (u uses it as the reply)")]
        case .useSample:
            guard let run = samples, run.finished.indices.contains(selectedSample), run.finished[selectedSample] else {
                return [.fail("no finished sample selected (S samples the reply, < > select one)")]
            }
            guard turns.last?.role == "user" else { return [.fail("the conversation does not end with a user turn")] }
            // The settings and system prompt the samples were made with, not the ones set since.
            var how = samplesRanWith.map { ran -> TurnSettings in
                var system = ""
                if case .chat(_, let s?, _) = ran.technique { system = s }
                return .reply(system: system, ran.settings, seed: run.seeds[selectedSample])
            } ?? .reply(system: system, settings, seed: run.seeds[selectedSample])
            how.seed = run.seeds[selectedSample]
            append(ChatMessage(role: "assistant", content: run.texts[selectedSample]), how)
            samples = nil
            return [.say("sample \(selectedSample + 1) is now the reply (the other samples are gone; pin them first to keep them)"), .save(.chat)]
        case .compareBase:
            if samples != nil { return BaseRun.start(samplesRanWith, samples, app, into: &base, what: "S") }
            // The last reply, with the settings and seed it was made with.
            guard let last = turns.last, last.role == "assistant", let how = made.last ?? nil, let seed = how.seed else {
                return [.fail("nothing to compare: S samples the reply, or send a message; then c runs the same on the base model")]
            }
            var s = settings
            s.seed = seed
            s.temperature = how.temperature ?? s.temperature
            s.topP = how.topP ?? s.topP
            s.maxTokens = how.maxTokens ?? s.maxTokens
            let messages = Array(turns.dropLast())
            var reply = SampleRun(count: 1, seed: seed)
            reply.texts = [last.content]
            reply.finished = [true]
            let ran = RunInput(technique: .chat(messages: messages, system: how.system.isEmpty ? nil : how.system, prefill: ""), settings: s, samples: 1)
            let effects = BaseRun.start(ran, reply, app, into: &base)
            replyRun = reply
            return effects
        case .focusPattern:
            return [.say("the pattern is set with :pattern REGEX (it counts the samples of S)")]
        }
    }

    /// Enter in the message field: sets the system prompt, or sends the message.
    mutating func submit(_ app: AppState) -> [Effect] {
        if editingSystem {
            system = input.text
            leaveSystemEdit()
            return [.say(system.isEmpty ? "system prompt cleared (the template's own applies)"
                         : "system prompt set for the next reply; the field now takes your message")]
        }
        let text = input.text
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return [] }
        if let busy = app.running { return [.fail("the model is busy in \(busy.pane.title): Esc cancels it")] }
        if let turn = editingTurn, turns.indices.contains(turn) {
            // The edited turn: the conversation as it was stays a branch; this one goes on from there.
            keepAsBranch()
            truncate(to: turn)
            samples = nil
        }
        editingTurn = nil
        append(ChatMessage(role: "user", content: text), .user(system: system))
        input.set("")
        samples = nil
        scroll = 0
        return reply(samples: 1)
    }

    /// Esc while editing the system prompt: the prompt stays as it was, the message comes back.
    mutating func leaveSystemEdit() {
        guard editingSystem else { return }
        editingSystem = false
        input = messageDraft ?? TextField()
        messageDraft = nil
    }

    /// Starts the reply to the last turn: one streamed, or `samples` side by side.
    mutating func reply(samples count: Int) -> [Effect] {
        let technique = GenerationJob.Technique.chat(messages: turns, system: system.isEmpty ? nil : system, prefill: "")
        if count == 1 {
            streaming = ""
            pendingReply = .reply(system: system, settings, seed: settings.seed)
        } else {
            samples = SampleRun(count: count, seed: settings.seed)
            samplesRanWith = RunInput(technique: technique, settings: settings, samples: count)
            base = nil
        }
        return [.generate(technique, settings, samples: count)]
    }

    /// A generation event for this pane's job.
    mutating func apply(_ event: GenerationEvent) {
        switch event {
        case .text(_, let sample, let piece):
            if samples != nil { samples!.texts[sample] += piece } else { streaming? += piece }
        case .sampleFinished(_, let sample, let record):
            guard samples != nil else { return }
            samples!.texts[sample] = record.text
            samples!.finished[sample] = true
            samples!.prompt = record.prompt
        case .finished(_, let error):
            samples?.stop()
            if let text = streaming {
                streaming = nil
                // The settings the job was started with, whatever was changed while it ran.
                let how = pendingReply ?? .reply(system: system, settings, seed: settings.seed)
                if error == nil { append(ChatMessage(role: "assistant", content: text), how) }
                settings.seed = (how.seed ?? settings.seed) &+ 1
                pendingReply = nil
            }
        case .progress:
            break
        }
    }

    func view(_ app: AppState, width: Int) -> Screen.PaneView {
        var v = Screen.PaneView()
        let shown = system.isEmpty ? "(the model's default)" : system.replacingOccurrences(of: "\n", with: " ↵ ")
        // At most two header rows; a longer prompt says where to read it whole.
        var rows = Wrap.lines(StyledLine([Span("System: ", Style(.system, bold: true)), Span(shown, Style(.system))]), width: width)
        if rows.count > 2 {
            let tag = StyledLine([Span(" … (\(CellWidth.of(shown)) characters; s shows it whole)", Style(.dim))])
            rows = [rows[0], Screen.withTag(rows[1], tag, width: width)]
        }
        v.header += rows
        var extra = branches.isEmpty ? "" : "  │ branch \(branchLabel) (b / B)"
        if let t = selectedTurn, turns.indices.contains(t) {
            let alternatives = siblings(at: t)
            if alternatives.count > 1, let here = alternatives.firstIndex(of: position) {
                extra += "  │ turn \(t + 1): alternative \(here + 1)/\(alternatives.count) ({ })"
            }
        }
        v.header.append(Screen.settingsLine(settings, extra: extra + (samples.map { Screen.matchSummary($0, pattern.text) } ?? "")))
        if turns.isEmpty && streaming == nil && samples == nil {
            v.body += Wrap.lines("Type a message and press Enter. Esc then ? lists every key.", width: width, style: Style(.dim))
        }
        for (i, t) in turns.enumerated() {
            let selected = selectedTurn == i
            let role: Role = t.role == "user" ? .user : t.role == "assistant" ? .assistant : .system
            let label = t.role == "user" ? "You" : t.role == "assistant" ? "Model" : t.role
            var head = StyledLine("\(label) [\(i + 1)]", Style(selected ? .selection : role, bold: true))
            // A turn made under another system prompt than the one now set says so.
            if made.indices.contains(i), let how = made[i], how.system != system {
                head.append("  system then: " + (how.system.isEmpty ? "(the model's default)" : "“\(how.system.prefix(40))”"), Style(.dim))
            }
            v.body.append(head)
            v.body += Wrap.lines(t.content, width: width, style: Style(role == .user ? .normal : .assistant))
            v.body.append(StyledLine())
        }
        if let streaming {
            v.body.append(StyledLine("Model", Style(.assistant, bold: true)))
            v.body += Wrap.lines(StyledLine([Span(streaming, Style(.assistant)), Span("▌", Style(.accent))]), width: width)
        }
        if let run = samples, let base {
            v.body += Screen.comparisonLines(run, base, pattern: pattern.text, width: width)
        } else if let run = samples {
            v.body += Screen.sampleLines(run, pattern: pattern.text, layout: .list, width: width,
                                         title: "Samples of the next reply (< > select, u uses one)", selected: selectedSample)
        } else if let reply = replyRun, let base {
            v.body += Screen.comparisonLines(reply, base, pattern: pattern.text, width: width)
        }
        let label = editingSystem ? "system › " : editingTurn.map { "edit turn \($0 + 1) › " } ?? "› "
        let (lines, cursor) = Screen.fieldLines(label: label, field: input, width: width, focused: app.focus == .input, maxRows: 4)
        v.bottom = lines
        v.cursor = cursor
        return v
    }

    func evidence(_ app: AppState) -> Evidence? {
        guard !turns.isEmpty || samples != nil else { return nil }
        var text = Transcript.render(current, system: system)
        var title = "Chat transcript (\(turns.count) turns)"
        if let run = samples {
            text += "\n\n" + Transcript.render(run, pattern: pattern.text)
            title = "Chat: \(run.texts.count) samples of the reply" + Transcript.countSuffix(run, pattern: pattern.text)
        }
        var e = Evidence(title: title, text: text, settings: settings, extra: pattern.isEmpty ? [:] : ["pattern": pattern.text])
        if let run = samples ?? replyRun { BaseRun.evidence(&e, run, base, pattern: pattern.text) }
        return e
    }
}

/// The chat as a session artifact (saved after every reply, restored on reopening).
struct ChatArtifact: Codable {
    var system: String
    var turns: [ChatMessage]
    var made: [TurnSettings?]?
    /// Sessions before branches kept their settings stored them as plain turn lists.
    var branches: [[ChatMessage]]
    var branchMade: [[TurnSettings?]]?
    var position: Int?

    init(_ c: ChatState) {
        system = c.system
        turns = c.turns
        made = c.made
        branches = c.branches.map(\.turns)
        branchMade = c.branches.map(\.made)
        position = c.position
    }

    func restore(into c: inout ChatState) {
        c.system = system
        c.turns = turns
        c.made = made ?? turns.map { _ in nil }
        c.branches = branches.enumerated().map { i, t in
            Branch(turns: t, made: branchMade.flatMap { $0.indices.contains(i) ? $0[i] : nil } ?? t.map { _ in nil })
        }
        c.position = min(max(0, position ?? c.branches.count), c.branches.count)
    }
}
