import Foundation
import Model
import Techniques
import Workbench

/// The workbench's update loop: keys and generation events in, state out. It starts generations on
/// the runner and writes the session through the notebook; it never draws (Screen does) and never
/// waits for the model (events arrive through `post` and are applied by `drain`).
public final class App: @unchecked Sendable {
    public internal(set) var state: AppState
    let runner: GenerationRunner?
    let notebook: Notebook?
    /// Model file, hash and adapter recorded with every result, so it can be reproduced.
    public var provenance: Provenance
    /// Called (on any thread) when an event is waiting: the terminal loop wakes to draw it.
    public var wake: @Sendable () -> Void = {}

    private let inboxLock = NSLock()
    private var inbox: [Inbound] = []

    /// What other threads hand to the update loop.
    enum Inbound {
        case generation(GenerationEvent)
        case modelHash(String)
        /// The result of background work, applied on the update loop.
        case work((App) -> Void)
    }

    /// What background work keeps between runs (touched only on `backgroundQueue`).
    final class BackgroundState: @unchecked Sendable {
        var dataIndex: DataSearchIndex?
        /// The semantic index and its embedder, once looked for (nil with a problem when unavailable).
        var semantic: SemanticSearcher?
        var semanticProblem: String?
        var semanticLooked = false
        /// semantic.bin's modification time when it was last looked for.
        var semanticStamp: Date?
    }
    private let backgroundQueue = DispatchQueue(label: "workbench.background", qos: .userInitiated)
    private let backgroundState = BackgroundState()

    /// Runs `work` off the update loop (searching, loading an index); the closure it returns is
    /// applied to the app on the update loop, like a generation event.
    func background(_ work: @escaping @Sendable (BackgroundState) -> (App) -> Void) {
        let holder = backgroundState
        backgroundQueue.async { [weak self] in
            let apply = work(holder)
            self?.enqueue(.work(apply))
        }
    }

    /// The SAE the Features pane uses, if one is loaded.
    public private(set) var featureTools: FeatureTools?

    public func setFeatureTools(_ tools: FeatureTools?, problem: String? = nil, engineNote: String? = nil) {
        featureTools = tools
        state.features.engineNote = engineNote
        state.features.available = tools != nil
        if let tools {
            let name = tools.sae.directory.lastPathComponent
            state.features.saeSummary = "\(name) (\(tools.sae.hookName ?? "?"), d_sae \(tools.sae.dSAE), index: \(tools.index == nil ? "none" : "yes"))"
        } else {
            state.features.saeSummary = problem
        }
    }

    public init(state: AppState, runner: GenerationRunner?, notebook: Notebook?, provenance: Provenance) {
        self.state = state
        self.runner = runner
        self.notebook = notebook
        self.provenance = provenance
        if let limit = runner?.contextLimit { self.state.contextLimit = limit }
        restoreSession()
    }

    // MARK: events from the generation thread

    /// Thread-safe: queues a generation event for the next `drain`.
    public func post(_ event: GenerationEvent) { enqueue(.generation(event)) }

    /// Thread-safe: the model file's SHA-256, computed in the background at start.
    public func post(modelHash: String) { enqueue(.modelHash(modelHash)) }

    func enqueue(_ item: Inbound) {
        inboxLock.lock()
        inbox.append(item)
        inboxLock.unlock()
        wake()
    }

    /// Applies every queued event; returns whether any was applied.
    @discardableResult
    public func drain() -> Bool {
        inboxLock.lock()
        let events = inbox
        inbox.removeAll(keepingCapacity: true)
        inboxLock.unlock()
        for e in events {
            switch e {
            case .generation(let g): apply(g)
            case .modelHash(let h): provenance.modelSHA256 = h
            case .work(let apply): apply(self)
            }
        }
        return !events.isEmpty
    }

    public func resize(width: Int, height: Int) {
        state.width = width
        state.height = height
    }

    // MARK: keys

    public func handle(_ key: Key) {
        if key != .escape { state.message = nil }
        if key == .ctrl("c") { state.shouldQuit = true; return }
        if case .alt(let c) = key, let n = c.wholeNumberValue, let pane = Pane(rawValue: n) {
            switchTo(pane)
            return
        }
        switch state.overlay {
        case .help:
            helpKey(key)
            return
        case .palette(var field):
            switch key {
            case .escape:
                state.overlay = .none
                state.paletteCandidates = []
            case .enter:
                state.overlay = .none
                state.paletteCandidates = []
                run(command: field.text)
            case .tab:
                let (completed, candidates) = App.complete(field.text)
                field = TextField(completed)
                state.paletteCandidates = candidates
                state.overlay = .palette(field)
            default:
                if field.handle(key) {
                    state.overlay = .palette(field)
                    state.paletteCandidates = []
                }
            }
            return
        case .search(var field):
            switch key {
            case .escape:
                state.overlay = .none
                state.search[state.pane] = nil
            case .enter:
                state.overlay = .none
                state.search[state.pane] = field.text.isEmpty ? nil : field.text
                state.searchMatch[state.pane] = 0
                jumpToMatch(0)
            default:
                if field.handle(key) {
                    state.overlay = .search(field)
                    state.search[state.pane] = field.text.isEmpty ? nil : field.text
                }
            }
            return
        case .none:
            break
        }
        if state.focus == .input && paneHasInput {
            handleInput(key)
        } else {
            handleNormal(key)
        }
    }

    var paneHasInput: Bool {
        switch state.pane {
        case .chat, .prefill, .persona: return true
        case .notebook: return state.notebook.editing != .none
        case .data: return state.data.open == nil
        case .features: return state.features.available
        }
    }

    func switchTo(_ pane: Pane) {
        state.pane = pane
        state.overlay = .none
        if pane == .notebook { reloadNotebook() }
        // Switching keeps the mode: from a field (Alt-digit) into the new pane's field, from bare
        // keys (digits, Tab) to bare keys, so `?`, `:` and `/` keep working after a switch.
        if !paneHasInput || pane == .notebook { state.focus = .normal }
    }

    private func handleInput(_ key: Key) {
        switch key {
        case .escape:
            if state.isGenerating { cancelGeneration() }
            if state.pane == .notebook { state.notebook.editing = .none }
            state.focus = .normal
        case .enter:
            submit()
        case .tab:
            nextField()
        default:
            editFocusedField(key)
        }
    }

    private func handleNormal(_ key: Key) {
        switch key {
        case .escape:
            if state.isGenerating { cancelGeneration() }
        case .char(let c) where c.wholeNumberValue.map({ (1...6).contains($0) }) == true:
            switchTo(Pane(rawValue: c.wholeNumberValue!)!)
        case .tab: switchTo(Pane(rawValue: state.pane.rawValue % 6 + 1)!)
        case .backTab: switchTo(Pane(rawValue: (state.pane.rawValue + 4) % 6 + 1)!)
        case .char("?"): openHelp()
        case .char(":"):
            state.overlay = .palette(TextField())
            state.paletteCandidates = []
        case .char("/"): state.overlay = .search(TextField(state.search[state.pane] ?? ""))
        case .char("q"): state.shouldQuit = true
        case .char("n"): nextMatch(+1)
        case .char("N"): nextMatch(-1)
        case .char("p"): pin()
        case .enter where state.pane == .data && state.data.results != nil:
            dataKey(.enter)
        case .char("i"), .enter:
            if state.pane == .notebook, key == .enter { editSelectedNote() } else if paneHasInput || state.pane == .notebook {
                if state.pane != .notebook { state.focus = .input }
                // `i` goes to the pane's main field, and says which field takes the typing.
                if key == .char("i") {
                    if state.pane == .persona { state.persona.field = .text }
                    if state.pane == .prefill { state.prefill.field = .prefill }
                }
                if let name = focusedFieldName { state.message = ("typing into \(name) (Tab: next field, Esc: leave)", false) }
            }
        case .up, .char("k"):
            if state.pane == .features { moveFeatureSelection(-1) } else if state.pane == .notebook { moveNoteSelection(-1) } else if state.pane == .data && state.data.open == nil { moveDataSelection(-1) } else { scroll(+1); return }
            keepSelectionInView()
        case .down, .char("j"):
            if state.pane == .features { moveFeatureSelection(+1) } else if state.pane == .notebook { moveNoteSelection(+1) } else if state.pane == .data && state.data.open == nil { moveDataSelection(+1) } else { scroll(-1); return }
            keepSelectionInView()
        case .pageUp, .ctrl("b"): scroll(+max(1, state.height - 6))
        case .pageDown, .ctrl("f"): scroll(-max(1, state.height - 6))
        case .char("g"), .home: scroll(+1_000_000)
        case .char("G"), .end: scrollToBottom()
        case .char("+"): adjustTemperature(+0.1)
        case .char("-"): adjustTemperature(-0.1)
        default:
            paneKey(key)
        }
    }

    private func paneKey(_ key: Key) {
        switch (state.pane, key) {
        case (.chat, .char("r")): regenerate()
        case (.chat, .char("e")): editTurn()
        case (.chat, .char("[")): selectTurn(-1)
        case (.chat, .char("]")): selectTurn(+1)
        case (.chat, .char("b")): nextBranch()
        case (.chat, .char("s")):
            state.chat.editingSystem = true
            state.chat.input.set(state.chat.system)
            state.focus = .input
        case (.chat, .char("x")): newConversation()
        case (.chat, .char("S")): sampleReply()
        case (.chat, .char("f")), (.prefill, .char("f")), (.persona, .char("f")): focusPattern()
        case (.prefill, .char("l")): choosePrefill(+1)
        case (.prefill, .char("L")): choosePrefill(-1)
        case (.prefill, .char("v")): state.prefill.layout = state.prefill.layout == .list ? .columns : .list
        case (.persona, .char("v")): state.persona.layout = state.persona.layout == .list ? .columns : .list
        case (.persona, .char("m")):
            guard !refuseWhileBusy() else { return }
            let all = PersonaMode.allCases
            state.persona.mode = all[(all.firstIndex(of: state.persona.mode)! + 1) % all.count]
            state.persona.run = nil  // the old mode's samples are not this mode's
        case (.prefill, .char("R")), (.persona, .char("R")): submit()
        case (.notebook, .char("a")): startEditing(.note(.note))
        case (.notebook, .char("h")): startEditing(.note(.hypothesis))
        case (.notebook, .char("R")): startEditing(.rootCause)
        case (.notebook, .char("B")): startEditing(.behaviours)
        case (.notebook, .char("D")): deleteSelectedNote()
        case (.notebook, .char("e")): editSelectedNote()
        case (.notebook, .char("o")):
            guard state.notebook.entries.indices.contains(state.notebook.selected) else { return }
            state.notebook.detail = true
            state.notebook.scroll = 0
        case (.notebook, .char("x")):
            state.notebook.detail = false
            keepSelectionInView()
        case (.notebook, .char("l")):
            guard state.notebook.entries.indices.contains(state.notebook.selected) else { return }
            let e = state.notebook.entries[state.notebook.selected]
            dataSearchLike(e.text, label: "notebook entry “\(e.title.prefix(40))”")
        case (.data, _): dataKey(key)
        case (.features, _): featuresKey(key)
        case (_, .char(let c)) where !c.isWhitespace:
            state.message = ("\(c) does nothing in \(state.pane.title) (? lists its keys; i to type)", false)
        case (_, .alt(let c)):
            // Esc and a key typed fast arrive as Alt+key: say so rather than do nothing.
            state.message = ("Alt-\(c) is not bound (Esc then \(c) typed too fast reads as Alt-\(c): pause after Esc)", false)
        default: break
        }
    }

    // MARK: fields

    private func editFocusedField(_ key: Key) {
        switch state.pane {
        case .chat:
            _ = state.chat.input.handle(key)
        case .prefill:
            switch state.prefill.field {
            case .user: _ = state.prefill.user.handle(key)
            case .prefill: _ = state.prefill.prefill.handle(key)
            case .pattern: _ = state.prefill.pattern.handle(key)
            }
        case .persona:
            switch state.persona.field {
            case .text: _ = state.persona.text.handle(key)
            case .pattern: _ = state.persona.pattern.handle(key)
            }
        case .notebook:
            _ = state.notebook.input.handle(key)
        case .data:
            _ = state.data.query.handle(key)
        case .features:
            if state.features.field == .prompt { _ = state.features.prompt.handle(key) } else { _ = state.features.query.handle(key) }
        default: break
        }
    }

    private func nextField() {
        switch state.pane {
        case .prefill:
            let order: [PrefillState.Field] = [.user, .prefill, .pattern]
            state.prefill.field = order[(order.firstIndex(of: state.prefill.field)! + 1) % order.count]
        case .persona:
            state.persona.field = state.persona.field == .text ? .pattern : .text
        case .features:
            state.features.field = state.features.field == .prompt ? .search : .prompt
        default:
            // Panes with one field: Tab moves on to the next pane, as outside a field.
            switchTo(Pane(rawValue: state.pane.rawValue % 6 + 1)!)
        }
    }

    private func openHelp() {
        state.overlay = .help
        state.helpScroll = 0
        state.helpFilter = nil
    }

    /// Keys in the help overlay: scroll, filter by typing after /, close.
    private func helpKey(_ key: Key) {
        let page = max(1, Screen.helpBox(width: state.width, height: state.height).height - 3)
        func scroll(to line: Int) { state.helpScroll = min(max(0, line), Screen.helpMaxScroll(state)) }
        if var filter = state.helpFilter, state.helpFilterTyping {
            switch key {
            case .escape: state.helpFilter = nil; state.helpFilterTyping = false
            case .enter: state.helpFilterTyping = false
            default: if filter.handle(key) { state.helpFilter = filter }
            }
            scroll(to: 0)
            return
        }
        switch key {
        case .down, .char("j"): scroll(to: state.helpScroll + 1)
        case .up, .char("k"): scroll(to: state.helpScroll - 1)
        case .pageDown, .ctrl("f"), .char(" "): scroll(to: state.helpScroll + page)
        case .pageUp, .ctrl("b"): scroll(to: state.helpScroll - page)
        case .char("g"), .home: scroll(to: 0)
        case .char("G"), .end: scroll(to: Int.max / 2)
        case .char("/"):
            state.helpFilter = state.helpFilter ?? TextField()
            state.helpFilterTyping = true
        case .escape where state.helpFilter != nil:
            state.helpFilter = nil
            scroll(to: 0)
        default:
            state.overlay = .none
        }
    }

    /// The name of the field that takes the typing in a pane with several, for the status line.
    var focusedFieldName: String? {
        switch state.pane {
        case .prefill:
            switch state.prefill.field { case .user: return "User"; case .prefill: return "Prefill"; case .pattern: return "Pattern" }
        case .persona:
            return state.persona.field == .text ? "the text" : "Pattern"
        default:
            return nil
        }
    }

    /// Refuses a run whose match pattern is not a regular expression, before anything runs, and puts
    /// the cursor in the pattern field. True when it refused.
    private func refuseInvalidPattern(_ pattern: String) -> Bool {
        guard !pattern.isEmpty else { return false }
        // The same compilation the live match count uses.
        if (try? MultiSample.compile(pattern)) != nil {
            return false
        } else {
            state.message = ("invalid pattern /\(pattern)/ (not a regular expression): nothing was run; fix it here", true)
            focusPattern()
            return true
        }
    }

    private func focusPattern() {
        switch state.pane {
        case .prefill: state.prefill.field = .pattern
        case .persona: state.persona.field = .pattern
        case .chat:
            state.chat.editingSystem = false
            state.chat.input.set("")
            state.message = ("type a pattern with :pattern REGEX (counts the samples of S)", false)
            return
        default: return
        }
        state.focus = .input
    }

    private func submit() {
        switch state.pane {
        case .chat:
            if state.chat.editingSystem {
                state.chat.system = state.chat.input.text
                state.chat.editingSystem = false
                state.chat.input.set("")
                state.message = (state.chat.system.isEmpty ? "system prompt cleared (the template's own applies)"
                                 : "system prompt set for the next reply; the field now takes your message", false)
                return
            }
            let text = state.chat.input.text
            guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return }
            guard !refuseWhileBusy() else { return }
            state.chat.turns.append(ChatMessage(role: "user", content: text))
            state.chat.input.set("")
            state.chat.samples = nil
            state.chat.scroll = 0
            replyToLastTurn(samples: 1)
        case .prefill:
            guard !refuseWhileBusy(), !refuseInvalidPattern(state.prefill.pattern.text) else { return }
            let p = state.prefill
            if p.user.text.isEmpty { state.message = ("write the user's message first", true); return }
            state.prefill.run = SampleRun(count: p.settings.samples, seed: p.settings.seed)
            state.prefill.scroll = 0
            start(.chat(messages: [ChatMessage(role: "user", content: p.user.text)], system: nil, prefill: p.prefill.text),
                  pane: .prefill, settings: p.settings, samples: p.settings.samples)
        case .persona:
            guard !refuseWhileBusy(), !refuseInvalidPattern(state.persona.pattern.text) else { return }
            let p = state.persona
            state.persona.run = SampleRun(count: p.settings.samples, seed: p.settings.seed)
            state.persona.scroll = 0
            start(.persona(mode: p.mode, conversation: state.chat.turns, system: state.chat.system.isEmpty ? nil : state.chat.system,
                           text: p.text.text),
                  pane: .persona, settings: p.settings, samples: p.settings.samples)
        case .notebook:
            saveNotebookEdit()
        case .data:
            dataSubmit()
        case .features:
            featuresSubmit()
        default:
            break
        }
    }

    // MARK: generation

    private func refuseWhileBusy() -> Bool {
        guard let running = state.running else { return false }
        state.message = ("the model is busy in \(running.pane.title): Esc cancels it", true)
        return true
    }

    private func start(_ technique: GenerationJob.Technique, pane: Pane, settings: PaneSettings, samples: Int) {
        guard let runner else {
            state.message = ("no model loaded", true)
            return
        }
        let id = state.nextJob
        state.nextJob += 1
        state.running = (id, pane)
        state.tokensPerSecond = nil
        let job = GenerationJob(id: id, origin: pane.origin, technique: technique, settings: settings.generation, samples: samples)
        runner.start(job) { [weak self] event in self?.post(event) }
    }

    public func cancelGeneration() {
        runner?.cancel()
        state.message = ("cancelling…", false)
    }

    private func replyToLastTurn(samples: Int) {
        let c = state.chat
        if samples == 1 {
            state.chat.streaming = ""
        } else {
            state.chat.samples = SampleRun(count: samples, seed: c.settings.seed)
        }
        start(.chat(messages: c.turns, system: c.system.isEmpty ? nil : c.system, prefill: ""),
              pane: .chat, settings: c.settings, samples: samples)
    }

    private func regenerate() {
        guard !refuseWhileBusy() else { return }
        guard let lastUser = state.chat.turns.lastIndex(where: { $0.role == "user" }) else {
            state.message = ("nothing to regenerate", true)
            return
        }
        if lastUser < state.chat.turns.count - 1 {
            state.chat.branches.append(state.chat.turns)
        }
        state.chat.turns.removeSubrange((lastUser + 1)...)
        state.chat.settings.seed &+= 1
        state.chat.samples = nil
        replyToLastTurn(samples: 1)
    }

    private func sampleReply() {
        guard !refuseWhileBusy() else { return }
        guard state.chat.turns.last?.role == "user" || state.chat.turns.last?.role == "assistant" else {
            state.message = ("send a message first", true)
            return
        }
        if state.chat.turns.last?.role == "assistant" {
            // Sample alternatives to the last reply, leaving the conversation as it is.
            state.chat.branches.append(state.chat.turns)
            state.chat.turns.removeLast()
        }
        replyToLastTurn(samples: max(2, state.chat.settings.samples == 1 ? 8 : state.chat.settings.samples))
    }

    private func apply(_ event: GenerationEvent) {
        switch event {
        case .text(let job, let sample, let piece):
            guard let running = state.running, running.job == job else { return }
            switch running.pane {
            case .chat:
                if state.chat.samples != nil { state.chat.samples!.texts[sample] += piece } else { state.chat.streaming? += piece }
            case .prefill: state.prefill.run?.texts[sample] += piece
            case .persona: state.persona.run?.texts[sample] += piece
            default: break
            }
        case .progress(let job, let tps, let used):
            guard let running = state.running, running.job == job else { return }
            if tps > 0 { state.tokensPerSecond = tps }
            state.contextByPane[running.pane] = used
        case .sampleFinished(let job, let sample, let record):
            guard let running = state.running, running.job == job else { return }
            switch running.pane {
            case .chat:
                if state.chat.samples != nil {
                    state.chat.samples!.texts[sample] = record.text
                    state.chat.samples!.finished[sample] = true
                    state.chat.samples!.prompt = record.prompt
                }
            case .prefill:
                state.prefill.run?.texts[sample] = record.text
                state.prefill.run?.finished[sample] = true
                state.prefill.run?.prompt = record.prompt
            case .persona:
                state.persona.run?.texts[sample] = record.text
                state.persona.run?.finished[sample] = true
                state.persona.run?.prompt = record.prompt
            default: break
            }
        case .finished(let job, let error):
            guard let running = state.running, running.job == job else { return }
            state.running = nil
            state.tokensPerSecond = nil
            switch running.pane {
            case .chat: state.chat.samples?.stop()
            case .prefill: state.prefill.run?.stop()
            case .persona: state.persona.run?.stop()
            default: break
            }
            if running.pane == .chat, let text = state.chat.streaming {
                state.chat.streaming = nil
                if error == nil { state.chat.turns.append(ChatMessage(role: "assistant", content: text)) }
                state.chat.settings.seed &+= 1
            }
            if let error {
                state.message = ("generation failed: \(error)", true)
            } else if state.message?.text == "cancelling…" {
                state.message = ("cancelled", false)
            }
            autosave(running.pane)
        }
    }

    // MARK: chat turns and branches

    private func selectTurn(_ delta: Int) {
        let n = state.chat.turns.count
        guard n > 0 else { return }
        let current = state.chat.selectedTurn ?? n
        state.chat.selectedTurn = min(max(0, current + delta), n - 1)
    }

    /// Loads the selected (or last) user turn into the input; sending it starts a new branch from there.
    private func editTurn() {
        guard !refuseWhileBusy() else { return }
        let turns = state.chat.turns
        guard let index = state.chat.selectedTurn.flatMap({ turns.indices.contains($0) && turns[$0].role == "user" ? $0 : nil })
                ?? turns.lastIndex(where: { $0.role == "user" }) else {
            state.message = ("no user turn to edit", true)
            return
        }
        state.chat.branches.append(turns)
        state.chat.input.set(turns[index].content)
        state.chat.turns.removeSubrange(index...)
        state.chat.selectedTurn = nil
        state.chat.samples = nil
        state.focus = .input
        state.message = ("editing turn \(index + 1): Enter sends it as a new branch (b switches branches)", false)
    }

    private func nextBranch() {
        guard !state.chat.branches.isEmpty, !refuseWhileBusy() else {
            state.message = ("no other branch", false)
            return
        }
        let current = state.chat.turns
        state.chat.turns = state.chat.branches.removeFirst()
        state.chat.branches.append(current)
        state.chat.samples = nil
        state.chat.selectedTurn = nil
    }

    private func newConversation() {
        guard !refuseWhileBusy() else { return }
        if !state.chat.turns.isEmpty { state.chat.branches.append(state.chat.turns) }
        state.chat.turns = []
        state.chat.samples = nil
        state.chat.transcriptArtifact = nil
        state.contextByPane[.chat] = 0
        state.message = ("new conversation (the old one is a branch: b)", false)
    }

    private func choosePrefill(_ delta: Int) {
        let lib = PrefillLibrary.playbook
        state.prefill.libraryIndex = (state.prefill.libraryIndex + delta + lib.count) % lib.count
        state.prefill.prefill.set(lib[state.prefill.libraryIndex].text)
    }

    private func adjustTemperature(_ delta: Float) {
        guard var s = state.settings(of: state.pane) else { return }
        s.temperature = max(0, min(2, ((s.temperature + delta) * 10).rounded() / 10))
        state.setSettings(s, of: state.pane)
    }

    // MARK: scrolling and search

    /// `lines` > 0 moves the view up (towards the start of the text).
    private func scroll(_ up: Int) {
        // Top-anchored panes count their offset from the top, the others from the bottom.
        let lines = Screen.anchorsTop(state.pane) ? -up : up
        let layout = Screen.bodyLayout(state, pane: state.pane)
        let limit = max(0, layout.lines.count - layout.height)
        setScroll(min(limit, max(0, Screen.scrollOffset(state, state.pane) + lines)))
    }

    /// Sets the focused pane's scroll offset (from the top or the bottom, as the pane counts it).
    private func setScroll(_ offset: Int) {
        switch state.pane {
        case .chat: state.chat.scroll = offset
        case .prefill: state.prefill.scroll = offset
        case .persona: state.persona.scroll = offset
        case .notebook: state.notebook.scroll = offset
        case .data: state.data.scroll = offset
        case .features: state.features.scroll = offset
        }
    }

    private func scrollToBottom() { scroll(-1_000_000) }

    /// After j/k in a list (Features, Data, Notebook): scroll just enough that the selected item's
    /// line is on screen (these panes count their offset from the top).
    func keepSelectionInView() {
        if state.pane == .notebook && state.notebook.detail { state.notebook.scroll = 0; return }   // the next entry, from its top
        let layout = Screen.bodyLayout(state, pane: state.pane)
        guard Screen.anchorsTop(state.pane), let line = Screen.selectedLine(layout.lines), layout.height > 0 else { return }
        var offset = Screen.scrollOffset(state, state.pane)
        if line < offset { offset = line }
        if line >= offset + layout.height { offset = line - layout.height + 1 }
        setScroll(min(offset, max(0, layout.lines.count - layout.height)))
    }

    private func nextMatch(_ delta: Int) {
        guard state.search[state.pane] != nil else { return }
        let current = state.searchMatch[state.pane] ?? 0
        jumpToMatch(current + delta)
    }

    /// Scrolls the pane so that match `index` (wrapping around) is in view.
    private func jumpToMatch(_ index: Int) {
        guard let query = state.search[state.pane] else { return }
        let layout = Screen.bodyLayout(state, pane: state.pane)
        let lines = layout.lines.enumerated().filter { $0.element.plain.range(of: query, options: .caseInsensitive) != nil }.map(\.offset)
        guard !lines.isEmpty else {
            state.message = ("no match for “\(query)”", true)
            return
        }
        let i = ((index % lines.count) + lines.count) % lines.count
        state.searchMatch[state.pane] = i
        // Put the match at the top of the view (offsets count from the top or the bottom by pane).
        setScroll(Screen.anchorsTop(state.pane) ? lines[i] : max(0, layout.lines.count - lines[i] - layout.height))
        state.message = ("match \(i + 1) of \(lines.count) (n/N)", false)
    }

    // MARK: commands (`:`)

    public static let commands: [(name: String, help: String)] = [
        ("set temperature|top_p|max|seed|samples VALUE", "sampling settings of this pane"),
        ("system TEXT", "the chat's system prompt (empty: the model's default)"),
        ("pattern REGEX", "the pane's match pattern (counts samples live)"),
        ("mode user|narrator|empty", "the persona pane's mode"),
        ("note TEXT", "add a note to the notebook"),
        ("hypothesis TEXT", "add a hypothesis to the notebook"),
        ("pin", "pin this pane's transcript or samples as evidence"),
        ("export markdown|json PATH", "write the notebook to a file"),
        ("strength A", "steering strength (Features)"),
        ("steer add|scale", "steering mode (Features)"),
        ("noise S", "fuzzing noise, × each token's RMS (Features; 0.1-0.2 useful, 0.5+ gibberish)"),
        ("theme NAME", "switch theme (\(Theme.available().joined(separator: ", ")))"),
        ("clear", "start a new conversation (the old one stays as a branch)"),
        ("quit", "leave the workbench"),
    ]

    /// The words each command's argument may be (commands whose argument is free text have none).
    static var commandArguments: [String: [String]] {
        ["set": ["temperature", "top_p", "max", "seed", "samples"], "mode": PersonaMode.allCases.map(\.rawValue),
         "export": ["markdown", "json"], "steer": ["add", "scale"], "theme": Theme.available()]
    }

    /// Tab in the command palette: `text` completed as far as it is unambiguous (a whole word gets a
    /// space after it), and the candidates when there are several.
    public static func complete(_ text: String) -> (text: String, candidates: [String]) {
        let names = commands.map { String($0.name.prefix { $0 != " " }) }
        let words = text.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        let options: [String]
        let head: String
        switch words.count {
        case 1:
            options = names
            head = ""
        case 2:
            options = commandArguments[words[0]] ?? []
            head = words[0] + " "
        default:
            return (text, [])
        }
        let partial = words.last ?? ""
        let matching = options.filter { $0.hasPrefix(partial) }
        guard !matching.isEmpty else { return (text, []) }
        if matching.count == 1 { return (head + matching[0] + " ", []) }
        var common = matching[0]
        for m in matching.dropFirst() { while !m.hasPrefix(common) { common.removeLast() } }
        return (head + common, matching)
    }

    public func run(command line: String) {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        let parts = trimmed.split(separator: " ", maxSplits: 1).map(String.init)
        guard let name = parts.first else { return }
        let arg = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
        switch name {
        case "q", "quit": state.shouldQuit = true
        case "set": setCommand(arg)
        case "system":
            state.chat.system = arg
            state.message = (arg.isEmpty ? "system prompt: the model's default" : "system prompt set", false)
        case "pattern":
            if !arg.isEmpty, (try? MultiSample.compile(arg)) == nil {
                state.message = ("invalid pattern /\(arg)/", true)
                return
            }
            switch state.pane {
            case .features: state.features.pattern.set(arg)
            case .prefill: state.prefill.pattern.set(arg)
            case .persona: state.persona.pattern.set(arg)
            default: state.chat.pattern.set(arg)
            }
        case "mode":
            guard let mode = PersonaMode(rawValue: arg) else { state.message = ("modes: user, narrator, empty", true); return }
            guard !refuseWhileBusy() else { return }
            if mode != state.persona.mode { state.persona.run = nil }
            state.persona.mode = mode
        case "note", "hypothesis":
            guard !arg.isEmpty else { state.message = ("\(name) needs text", true); return }
            addNote(name == "note" ? .note : .hypothesis, text: arg, title: "")
        case "pin": pin()
        case "export": export(arg)
        case "theme":
            do {
                state.theme = try Theme.load(named: arg)
                state.message = ("theme \(state.theme.name)", false)
            } catch {
                state.message = ("\(error)", true)
            }
        case "strength":
            guard let a = Float(arg), a.isFinite, abs(a) <= 1000 else { return bad("strength is a number, e.g. 4 or -1") }
            state.features.strength = a
        case "noise":
            guard let x = Float(arg), x >= 0, x <= 100 else { return bad("noise is a scale of each token's RMS, e.g. 0.2 (\(FeaturesPaneState.usefulNoise))") }
            state.features.noise = x
            if x > 0.4 { state.message = ("noise \(x) × RMS: \(FeaturesPaneState.usefulNoise)", false) }
        case "steer":
            guard let m = SteeringSpec.Mode(rawValue: arg) else { return bad("steer add|scale") }
            state.features.steerMode = m
        case "clear": newConversation()
        case "help": openHelp()
        default:
            state.message = ("unknown command “\(name)” (? lists them)", true)
        }
    }

    private func setCommand(_ arg: String) {
        let parts = arg.split(separator: " ").map(String.init)
        guard parts.count == 2, var s = state.settings(of: state.pane) else {
            state.message = ("usage: set temperature|top_p|max|seed|samples VALUE (in Chat, Prefill or Persona)", true)
            return
        }
        let v = parts[1]
        switch parts[0] {
        case "temperature", "temp", "t":
            guard let x = Float(v), x >= 0, x <= 5 else { return bad("temperature is 0...5") }
            s.temperature = x
        case "top_p", "top-p", "p":
            guard let x = Float(v), x > 0, x <= 1 else { return bad("top_p is in (0, 1]") }
            s.topP = x
        case "max", "max_tokens", "max-tokens":
            guard let x = Int(v), x >= 1, x <= 8192 else { return bad("max is 1...8192") }
            s.maxTokens = x
        case "seed":
            guard let x = UInt64(v) else { return bad("seed is a whole number >= 0") }
            s.seed = x
        case "samples", "n":
            guard let x = Int(v), x >= 1, x <= 256 else { return bad("samples is 1...256") }
            s.samples = x
        default:
            return bad("unknown setting \(parts[0])")
        }
        state.setSettings(s, of: state.pane)
        state.message = ("\(state.pane.title): \(s.summary)", false)
    }

    private func bad(_ why: String) { state.message = (why, true) }

    // MARK: notebook

    private func reloadNotebook() {
        guard let notebook else { return }
        do {
            state.notebook.entries = try notebook.entries()
            state.notebook.report = try notebook.report()
            state.notebook.selected = min(state.notebook.selected, max(0, state.notebook.entries.count - 1))
        } catch {
            state.message = ("notebook: \(error)", true)
        }
    }

    private func addNote(_ kind: EntryKind, text: String, title: String, source: String = "notebook", provenance: Provenance? = nil) {
        guard let notebook else { state.message = ("no session file: start with --session FILE", true); return }
        do {
            let e = try notebook.add(kind, text: text, title: title, source: source, provenance: provenance)
            state.message = ("saved \(kind.rawValue) #\(e.id)", false)
            reloadNotebook()
        } catch {
            state.message = ("notebook: \(error)", true)
        }
    }

    private func startEditing(_ what: NotebookState.Editing) {
        state.notebook.editing = what
        state.notebook.editingID = nil
        switch what {
        case .rootCause: state.notebook.input.set(state.notebook.report.rootCause)
        case .behaviours: state.notebook.input.set(state.notebook.report.behaviours)
        default: state.notebook.input.set("")
        }
        state.focus = .input
    }

    private func editSelectedNote() {
        guard state.notebook.entries.indices.contains(state.notebook.selected) else { return }
        let e = state.notebook.entries[state.notebook.selected]
        state.notebook.editing = .note(e.kind)
        state.notebook.editingID = e.id
        state.notebook.input.set(e.text)
        state.focus = .input
    }

    private func saveNotebookEdit() {
        guard let notebook else { state.message = ("no session file", true); return }
        let text = state.notebook.input.text
        do {
            switch state.notebook.editing {
            case .rootCause:
                var r = try notebook.report(); r.rootCause = text; try notebook.setReport(r)
            case .behaviours:
                var r = try notebook.report(); r.behaviours = text; try notebook.setReport(r)
            case .note(let kind):
                guard !text.trimmingCharacters(in: .whitespaces).isEmpty else { state.message = ("empty note not saved", true); return }
                if let existing = state.notebook.editingID {
                    try notebook.update(id: existing, text: text)
                } else {
                    try notebook.add(kind, text: text)
                }
            case .none: return
            }
            state.notebook.editing = .none
            state.notebook.editingID = nil
            state.notebook.input.set("")
            state.focus = .normal
            state.message = ("saved", false)
            reloadNotebook()
        } catch {
            state.message = ("notebook: \(error)", true)
        }
    }

    private func moveNoteSelection(_ delta: Int) {
        let n = state.notebook.entries.count
        guard n > 0 else { return }
        state.notebook.selected = min(max(0, state.notebook.selected + delta), n - 1)
    }

    private func deleteSelectedNote() {
        guard let notebook, state.notebook.entries.indices.contains(state.notebook.selected) else { return }
        let e = state.notebook.entries[state.notebook.selected]
        do {
            try notebook.delete(id: e.id)
            state.message = ("deleted #\(e.id)", false)
            reloadNotebook()
        } catch {
            state.message = ("notebook: \(error)", true)
        }
    }

    private func export(_ arg: String) {
        guard let notebook else { state.message = ("no session file", true); return }
        let parts = arg.split(separator: " ", maxSplits: 1).map(String.init)
        guard parts.count == 2, ["markdown", "md", "json"].contains(parts[0]) else {
            return bad("usage: export markdown|json PATH")
        }
        do {
            let data = parts[0] == "json" ? try notebook.exportJSON() : Data(try notebook.exportMarkdown().utf8)
            try data.write(to: URL(fileURLWithPath: parts[1]), options: .atomic)
            state.message = ("wrote \(parts[1])", false)
        } catch {
            state.message = ("export failed: \(error)", true)
        }
    }

    /// The current pane's transcript or sample set, pinned as evidence with its provenance.
    public func pin() {
        guard let (title, text, settings) = evidence() else {
            state.message = ("nothing to pin in \(state.pane.title)", true)
            return
        }
        var p = provenance
        p.settings = settings.asDictionary.merging(extraSettings()) { $1 }
        p.seed = settings.seed
        addNote(.evidence, text: text, title: title, source: state.pane.origin, provenance: p)
    }

    private func extraSettings() -> [String: String] {
        switch state.pane {
        case .prefill: return ["pattern": state.prefill.pattern.text, "prefill": state.prefill.prefill.text]
        case .persona: return ["pattern": state.persona.pattern.text, "mode": state.persona.mode.rawValue]
        case .chat: return state.chat.pattern.isEmpty ? [:] : ["pattern": state.chat.pattern.text]
        default: return [:]
        }
    }

    func evidence() -> (title: String, text: String, settings: PaneSettings)? {
        switch state.pane {
        case .chat:
            let c = state.chat
            guard !c.turns.isEmpty || c.samples != nil else { return nil }
            var text = Transcript.render(system: c.system, turns: c.turns)
            var title = "Chat transcript (\(c.turns.count) turns)"
            if let run = c.samples {
                text += "\n\n" + Transcript.render(run, pattern: c.pattern.text)
                title = "Chat: \(run.texts.count) samples of the reply" + Transcript.countSuffix(run, pattern: c.pattern.text)
            }
            return (title, text, c.settings)
        case .prefill:
            guard let run = state.prefill.run else { return nil }
            let p = state.prefill
            let text = "user: \(p.user.text)\nprefill: \(p.prefill.text)\n\n" + Transcript.render(run, pattern: p.pattern.text)
            return ("Prefill “\(p.prefill.text.prefix(40))”" + Transcript.countSuffix(run, pattern: p.pattern.text), text, p.settings)
        case .persona:
            guard let run = state.persona.run else { return nil }
            let p = state.persona
            let text = "mode: \(p.mode.rawValue)\ntext: \(p.text.text)\n\n" + Transcript.render(run, pattern: p.pattern.text)
            return ("Persona (\(p.mode.rawValue))" + Transcript.countSuffix(run, pattern: p.pattern.text), text, p.settings)
        case .data:
            return dataEvidence().map { ($0.title, $0.text, PaneSettings()) }
        case .features:
            return featuresEvidence().map { ($0.title, $0.text, state.features.settings) }
        default:
            return nil
        }
    }

    // MARK: session persistence

    /// Saves the pane's transcript or samples as a session artifact (after every generation).
    private func autosave(_ pane: Pane) {
        guard let notebook else { return }
        do {
            switch pane {
            case .chat:
                let payload = ChatArtifact(system: state.chat.system, turns: state.chat.turns, branches: state.chat.branches)
                let json = String(decoding: try JSONEncoder.sorted.encode(payload), as: UTF8.self)
                var p = provenance
                p.settings = state.chat.settings.asDictionary
                p.seed = state.chat.settings.seed
                state.chat.transcriptArtifact = try notebook.saveArtifact(
                    id: state.chat.transcriptArtifact, kind: "transcript", source: "chat",
                    title: state.chat.turns.first?.content.prefix(60).description ?? "conversation", payload: json, provenance: p)
            case .prefill, .persona:
                guard let (title, text, settings) = evidence() else { return }
                var p = provenance
                p.settings = settings.asDictionary.merging(extraSettings()) { $1 }
                p.seed = settings.seed
                let json = String(decoding: try JSONEncoder.sorted.encode(["text": text]), as: UTF8.self)
                try notebook.saveArtifact(id: nil, kind: "samples", source: pane.origin, title: title, payload: json, provenance: p)
            default: break
            }
        } catch {
            state.message = ("session not saved: \(error)", true)
        }
    }

    /// Reopening a session brings back its last conversation.
    private func restoreSession() {
        guard let notebook, let artifacts = try? notebook.artifacts() else { return }
        if let last = artifacts.last(where: { $0.kind == "transcript" && $0.source == "chat" }),
           let chat = try? JSONDecoder().decode(ChatArtifact.self, from: Data(last.payload.utf8)) {
            state.chat.system = chat.system
            state.chat.turns = chat.turns
            state.chat.branches = chat.branches
            state.chat.transcriptArtifact = last.id
        }
        reloadNotebook()
    }
}

struct ChatArtifact: Codable {
    var system: String
    var turns: [ChatMessage]
    var branches: [[ChatMessage]]
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }
}

/// Plain-text renderings of transcripts and sample sets, for the notebook.
enum Transcript {
    static func render(system: String, turns: [ChatMessage]) -> String {
        var lines: [String] = []
        if !system.isEmpty { lines.append("system: \(system)") }
        for t in turns { lines.append("\(t.role): \(t.content)") }
        return lines.joined(separator: "\n")
    }

    static func render(_ run: SampleRun, pattern: String) -> String {
        let matching = Set(run.matching(pattern) ?? [])
        return run.texts.enumerated().map { i, t in
            "--- sample \(i + 1) (seed \(run.seeds[i]))\(matching.contains(i) ? " [match]" : "") ---\n\(t)"
        }.joined(separator: "\n")
    }

    static func countSuffix(_ run: SampleRun, pattern: String) -> String {
        guard let m = run.matching(pattern) else { return "" }
        return ": \(m.count)/\(run.texts.count) match /\(pattern)/"
    }
}
