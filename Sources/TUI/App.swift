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
    /// Every session-file read and write after the start runs here, never on the UI thread.
    private let notebookQueue = DispatchQueue(label: "workbench.notebook", qos: .userInitiated)
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
        state.features.labels = tools?.labels ?? [:]
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
        if key != .char("q") { state.quitWarned = false }
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
                state.scrollRequest = .match(0)
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

    var paneHasInput: Bool { Screen.paneAcceptsInput(state) }

    func switchTo(_ pane: Pane) {
        // An open report editor keeps its text as a draft when the pane is left.
        if state.pane == .notebook && pane != .notebook && state.notebook.editing != .none { perform(state.notebook.leave()) }
        state.pane = pane
        state.overlay = .none
        if pane == .notebook { perform([.reloadNotebook]) }
        // Switching keeps the mode: from a field (Alt-digit) into the new pane's field, from bare
        // keys (digits, Tab) to bare keys, so `?`, `:` and `/` keep working after a switch.
        if !paneHasInput || pane == .notebook { state.focus = .normal }
    }

    /// A key while typing in the pane's field.
    private func handleInput(_ key: Key) {
        if key == .escape {
            if state.isGenerating { cancelGeneration() }
            if state.pane == .notebook { perform(state.notebook.leave()) }
            if state.pane == .chat { state.chat.leaveSystemEdit() }
            state.focus = .normal
            return
        }
        if state.pane == .notebook { return perform(state.notebook.edit(key)) }
        switch key {
        case .enter: submit()
        case .tab: nextField()
        default:
            switch state.pane {
            case .chat: _ = state.chat.input.handle(key)
            case .prefill: state.prefill.edit(key)
            case .persona: state.persona.edit(key)
            case .data: _ = state.data.query.handle(key)
            case .features:
                if state.features.field == .prompt { _ = state.features.prompt.handle(key) } else { _ = state.features.query.handle(key) }
            case .notebook: break
            }
        }
    }

    /// A bare key: a digit switches panes, then the pane's own bindings, then the global ones.
    private func handleNormal(_ key: Key) {
        if case .char(let c) = key, let n = c.wholeNumberValue, let pane = Pane(rawValue: n) { return switchTo(pane) }
        let s = state
        switch state.pane {
        case .chat: if let a = ChatState.action(for: key, s) { return dispatch(a, in: \.chat) }
        case .prefill: if let a = PrefillState.action(for: key, s) { return dispatch(a, in: \.prefill) }
        case .persona: if let a = PersonaState.action(for: key, s) { return dispatch(a, in: \.persona) }
        case .features: if let a = FeaturesPaneState.action(for: key, s) { return dispatch(a, in: \.features) }
        case .notebook: if let a = NotebookState.action(for: key, s) { return dispatch(a, in: \.notebook) }
        case .data: if let a = DataPaneState.action(for: key, s) { return dispatch(a, in: \.data) }
        }
        if let binding = Bindings.global.first(where: { $0.applies(key, s) }) { return global(binding.action) }
        switch key {
        case .char(let c) where !c.isWhitespace:
            state.message = ("\(c) does nothing in \(state.pane.title) (? lists its keys; i to type)", false)
        case .alt(let c):
            // Esc and a key typed fast arrive as Alt+key: say so rather than do nothing.
            state.message = ("Alt-\(c) is not bound (Esc then \(c) typed too fast reads as Alt-\(c): pause after Esc)", false)
        default: break
        }
    }

    /// Applies a pane's action to its state and runs the effects it returns.
    func dispatch<P: PaneModel>(_ action: P.Action, in path: WritableKeyPath<AppState, P>) {
        let snapshot = state
        perform(state[keyPath: path].update(action, snapshot))
    }

    private func global(_ action: GlobalAction) {
        switch action {
        case .cancel: if state.isGenerating { cancelGeneration() }
        case .focusInput:
            guard paneHasInput else { return }
            state.focus = .input
            // `i` goes to the pane's main field, and says which field takes the typing.
            if state.pane == .persona { state.persona.field = .text }
            if state.pane == .prefill { state.prefill.field = .prefill }
            if let name = focusedFieldName { state.message = ("typing into \(name) (Tab: next field, Esc: leave)", false) }
        case .help: openHelp()
        case .palette:
            state.overlay = .palette(TextField())
            state.paletteCandidates = []
        case .search: state.overlay = .search(TextField(state.search[state.pane] ?? ""))
        case .quit:
            let drafts = state.notebook.drafts.keys.sorted()
            if !drafts.isEmpty && !state.quitWarned {
                state.quitWarned = true
                state.message = ("unsaved notebook drafts (\(drafts.joined(separator: ", "))): q again quits without them; in the Notebook pane their editor reopens them", true)
                return
            }
            state.shouldQuit = true
        case .nextMatch, .previousMatch:
            guard state.search[state.pane] != nil else { return }
            state.scrollRequest = .match((state.searchMatch[state.pane] ?? 0) + (action == .nextMatch ? 1 : -1))
        case .pin: pin()
        case .scrollUp: scroll(+1)
        case .scrollDown: scroll(-1)
        case .pageUp: scroll(+max(1, state.height - 6))
        case .pageDown: scroll(-max(1, state.height - 6))
        case .top: state.scrollRequest = .start
        case .bottom: state.scrollRequest = .end
        case .warmer, .cooler:
            guard var s = state.settings(of: state.pane) else { return }
            s.temperature = max(0, min(2, ((s.temperature + (action == .warmer ? 0.1 : -0.1)) * 10).rounded() / 10))
            state.setSettings(s, of: state.pane)
        case .nextPane: switchTo(Pane(rawValue: state.pane.rawValue % 6 + 1)!)
        case .previousPane: switchTo(Pane(rawValue: (state.pane.rawValue + 4) % 6 + 1)!)
        }
    }

    private func nextField() {
        switch state.pane {
        case .prefill:
            let order = PrefillState.fields
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

    /// Enter in a field: the pane's submit.
    private func submit() {
        let snapshot = state
        switch state.pane {
        case .chat: perform(state.chat.submit(snapshot))
        case .prefill: dispatch(PrefillState.Action.run, in: \.prefill)
        case .persona: dispatch(PersonaState.Action.run, in: \.persona)
        case .notebook: perform(state.notebook.save())
        case .data: dataSubmit()
        case .features: perform(state.features.submit())
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
        case .prefill: return state.prefill.fieldName
        case .persona: return state.persona.fieldName
        default: return nil
        }
    }

    // MARK: effects

    /// Runs what a pane's update asked for.
    func perform(_ effects: [Effect]) {
        for effect in effects {
            switch effect {
            case .message(let text, let error): state.message = (text, error)
            case .focus(let f): state.focus = f
            case .generate(let technique, let settings, let samples, let adapterOff):
                start(technique, settings: settings, samples: samples, adapterOff: adapterOff)
            case .write(let w): write(w)
            case .reloadNotebook: reloadNotebook()
            case .searchLike(let text, let label): dataSearchLike(text, label: label)
            case .openDocument(let id, let chunk): openDocument(id: id, chunk: chunk)
            case .features(let request): run(request)
            case .keepSelectionInView: state.scrollRequest = .selection
            case .save(let pane): autosave(pane)
            case .clearContext(let pane): state.contextByPane[pane] = 0
            }
        }
    }

    // MARK: generation

    private func start(_ technique: GenerationJob.Technique, settings: PaneSettings, samples: Int, adapterOff: Bool) {
        guard let runner else {
            state.message = ("no model loaded", true)
            return
        }
        let id = state.nextJob
        state.nextJob += 1
        state.running = (id, state.pane)
        state.runningBase = adapterOff
        state.tokensPerSecond = nil
        let job = GenerationJob(id: id, origin: state.pane.origin, technique: technique, settings: settings.generation, samples: samples,
                                adapterOff: adapterOff)
        runner.start(job) { [weak self] event in self?.post(event) }
    }

    public func cancelGeneration() {
        runner?.cancel()
        state.message = ("cancelling…", false)
    }

    /// A generation event, given to the pane whose job it is.
    private func apply(_ event: GenerationEvent) {
        guard let running = state.running, running.job == event.job else { return }
        if case .progress(_, let tps, let used) = event {
            if tps > 0 { state.tokensPerSecond = tps }
            // The base model's cache is its own: the pane's count stays the organism's.
            if !state.runningBase { state.contextByPane[running.pane] = used }
            return
        }
        switch (running.pane, state.runningBase) {
        case (.chat, false): state.chat.apply(event)
        case (.chat, true): state.chat.base?.apply(event)
        case (.prefill, false): state.prefill.run?.apply(event)
        case (.prefill, true): state.prefill.base?.apply(event)
        case (.persona, false): state.persona.run?.apply(event)
        case (.persona, true): state.persona.base?.apply(event)
        default: break
        }
        if case .finished(_, let error) = event {
            state.running = nil
            state.tokensPerSecond = nil
            if let error {
                state.message = ("generation failed: \(error)", true)
            } else if state.message?.text == "cancelling…" {
                state.message = ("cancelled", false)
            } else if state.runningBase, let summary = comparisonSummary(running.pane) {
                state.message = (summary, false)
            }
            autosave(running.pane)
        }
    }

    /// "organism 7/8 vs base 0/8 match /reward/" for a pane whose base run finished.
    private func comparisonSummary(_ pane: Pane) -> String? {
        switch pane {
        case .chat: return state.chat.base.flatMap { b in (state.chat.samples ?? state.chat.replyRun).map { Screen.comparisonSummary($0, b, state.chat.pattern.text) } }
        case .prefill: return state.prefill.base.flatMap { b in state.prefill.run.map { Screen.comparisonSummary($0, b, state.prefill.pattern.text) } }
        case .persona: return state.persona.base.flatMap { b in state.persona.run.map { Screen.comparisonSummary($0, b, state.persona.pattern.text) } }
        default: return nil
        }
    }

    // MARK: scrolling

    /// `lines` > 0 moves the view up (towards the start of the text). The offset is clamped to the
    /// pane's length as last drawn (`frame`); a pane not drawn yet is clamped when it is.
    private func scroll(_ up: Int) {
        let pane = state.pane
        // Top-anchored panes count their offset from the top, the others from the bottom.
        let lines = Screen.anchorsTop(pane) ? -up : up
        let limit = state.viewports[pane].map { max(0, $0.lines - $0.height) } ?? Int.max / 4
        setScroll(min(limit, max(0, min(limit, Screen.scrollOffset(state, pane)) + lines)))
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

    /// The screen for the current state. Scroll requests that need the laid-out pane (to the end,
    /// to the selection, to a search match) are resolved here, once per frame, and the pane's length
    /// is kept for the next scroll keys: the update step never lays a pane out.
    public func frame() -> CellBuffer {
        let pane = state.pane
        if state.width >= Screen.minWidth, state.height >= Screen.minHeight {
            let layout = Screen.bodyLayout(state, pane: pane)
            let limit = max(0, layout.lines.count - layout.height)
            if let request = state.scrollRequest { resolve(request, layout) }
            state.scrollRequest = nil
            setScroll(min(limit, Screen.scrollOffset(state, pane)))
            state.viewports[pane] = Viewport(lines: layout.lines.count, height: layout.height)
        }
        return Screen.render(state)
    }

    private func resolve(_ request: ScrollRequest, _ layout: (lines: [StyledLine], height: Int)) {
        let pane = state.pane
        let top = Screen.anchorsTop(pane)
        let limit = max(0, layout.lines.count - layout.height)
        switch request {
        case .start: setScroll(top ? 0 : limit)
        case .end: setScroll(top ? limit : 0)
        case .selection:
            // Scroll just enough that the selected item's line is on screen (lists count from the top).
            guard top, let line = Screen.selectedLine(layout.lines), layout.height > 0 else { return }
            var offset = Screen.scrollOffset(state, pane)
            if line < offset { offset = line }
            if line >= offset + layout.height { offset = line - layout.height + 1 }
            setScroll(min(offset, limit))
        case .match(let index):
            guard let query = state.search[pane] else { return }
            let lines = layout.lines.enumerated().filter { $0.element.plain.range(of: query, options: .caseInsensitive) != nil }.map(\.offset)
            guard !lines.isEmpty else {
                state.message = ("no match for “\(query)”", true)
                return
            }
            let i = ((index % lines.count) + lines.count) % lines.count
            state.searchMatch[pane] = i
            // Put the match at the top of the view (offsets count from the top or the bottom by pane).
            setScroll(top ? lines[i] : max(0, layout.lines.count - lines[i] - layout.height))
            state.message = ("match \(i + 1) of \(lines.count) (n/N)", false)
        }
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
        ("use N", "sample N of the Chat pane's samples becomes the reply"),
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
            if let busy = state.running { return bad("the model is busy in \(busy.pane.title): Esc cancels it") }
            state.persona.setMode(mode)
        case "note", "hypothesis":
            guard !arg.isEmpty else { state.message = ("\(name) needs text", true); return }
            perform([.write(.add(name == "note" ? .note : .hypothesis, text: arg, title: "", source: "notebook", provenance: nil))])
        case "pin": pin()
        case "export":
            let parts = arg.split(separator: " ", maxSplits: 1).map(String.init)
            guard parts.count == 2, ["markdown", "md", "json"].contains(parts[0]) else { return bad("usage: export markdown|json PATH") }
            perform([.write(.export(format: parts[0], path: parts[1]))])
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
        case "clear": dispatch(ChatState.Action.newConversation, in: \.chat)
        case "help": openHelp()
        case "use":
            guard let n = Int(arg), n >= 1 else { return bad("use N: sample N of the Chat pane's samples becomes the reply") }
            state.chat.selectedSample = n - 1
            dispatch(ChatState.Action.useSample, in: \.chat)
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

    // MARK: notebook (on its own queue)

    /// Runs `work` with the notebook on the notebook's queue, then `done` with its result on the
    /// update loop.
    private func withNotebook<T: Sendable>(_ work: @escaping @Sendable (Notebook) throws -> T,
                                           done: @escaping (App, Result<T, Error>) -> Void) {
        guard let notebook else {
            state.message = ("no session file: start with --session FILE", true)
            return
        }
        let box = UncheckedBox(done)
        notebookQueue.async { [weak self] in
            let result = Result { try work(notebook) }
            self?.enqueue(.work { app in box.value(app, result) })
        }
    }

    /// Waits until every queued notebook write has run (on quit, so nothing is lost; tests use it
    /// too). Their acknowledgements then wait in the inbox for `drain`.
    public func flushNotebook() { notebookQueue.sync {} }

    private func reloadNotebook() {
        guard notebook != nil else { return }
        withNotebook({ nb in (try nb.entries(), try nb.report()) }) { app, result in
            switch result {
            case .success(let (entries, report)):
                app.state.notebook.entries = entries
                app.state.notebook.report = report
                app.state.notebook.selected = min(app.state.notebook.selected, max(0, entries.count - 1))
            case .failure(let error):
                app.state.message = ("notebook: \(error)", true)
            }
        }
    }

    /// A write to the session file, off the UI thread: "saving…" now, "saved" once it is on disk (or
    /// the error), and the notebook reloaded.
    private func write(_ w: NotebookWrite) {
        guard notebook != nil else { return bad("no session file: start with --session FILE") }
        state.message = ("saving…", false)
        withNotebook({ nb -> String in
            switch w {
            case .add(let kind, let text, let title, let source, let provenance):
                let e = try nb.add(kind, text: text, title: title, source: source, provenance: provenance)
                return "saved \(kind.rawValue) #\(e.id)"
            case .update(let id, let text):
                try nb.update(id: id, text: text)
                return "saved #\(id)"
            case .delete(let id):
                try nb.delete(id: id)
                return "deleted #\(id)"
            case .report(let rootCause, let behaviours):
                var r = try nb.report()
                if let rootCause { r.rootCause = rootCause }
                if let behaviours { r.behaviours = behaviours }
                try nb.setReport(r)
                return rootCause != nil ? "saved the root cause" : "saved the behaviours (\(r.behaviours.split(whereSeparator: \.isNewline).count) lines)"
            case .export(let format, let path):
                let data = format == "json" ? try nb.exportJSON() : Data(try nb.exportMarkdown().utf8)
                try data.write(to: URL(fileURLWithPath: path), options: .atomic)
                return "wrote \(path)"
            }
        }) { app, result in
            let draft = NotebookState.draftKey(of: w)
            switch result {
            case .success(let said):
                app.state.message = (said, false)
                if let draft { app.state.notebook.drafts[draft] = nil }
            case .failure(let error):
                if case .export = w {
                    app.state.message = ("export failed: \(error)", true)
                } else {
                    app.state.message = ("notebook: \(error) (not saved" + (draft.map { "; the \($0) is kept as a draft: reopen it to try again" } ?? "") + ")", true)
                }
            }
            app.reloadNotebook()
        }
    }

    /// The current pane's transcript, sample set, hit or feature, pinned as evidence with its provenance.
    public func pin() {
        guard let e = evidence() else {
            state.message = ("nothing to pin in \(state.pane.title)", true)
            return
        }
        var p = provenance
        p.settings = e.settings.asDictionary.merging(e.extra) { $1 }
        p.seed = e.settings.seed
        write(.add(.evidence, text: e.text, title: e.title, source: state.pane.origin, provenance: p))
    }

    func evidence() -> Evidence? {
        let s = state
        switch state.pane {
        case .chat: return s.chat.evidence(s)
        case .prefill: return s.prefill.evidence(s)
        case .persona: return s.persona.evidence(s)
        case .features: return s.features.evidence(s)
        case .notebook: return s.notebook.evidence(s)
        case .data: return s.data.evidence(s)
        }
    }

    // MARK: session persistence

    /// Saves the pane's transcript or samples as a session artifact (after every generation).
    private func autosave(_ pane: Pane) {
        guard notebook != nil else { return }
        var p = provenance
        let payload: String, kind: String, title: String, id: Int64?
        do {
            switch pane {
            case .chat:
                payload = String(decoding: try JSONEncoder.sorted.encode(ChatArtifact(state.chat)), as: UTF8.self)
                p.settings = state.chat.settings.asDictionary
                p.seed = state.chat.settings.seed
                (kind, title, id) = ("transcript", state.chat.turns.first?.content.prefix(60).description ?? "conversation", state.chat.transcriptArtifact)
            case .prefill, .persona:
                let s = state
                guard let e = pane == .prefill ? s.prefill.evidence(s) : s.persona.evidence(s) else { return }
                p.settings = e.settings.asDictionary.merging(e.extra) { $1 }
                p.seed = e.settings.seed
                payload = String(decoding: try JSONEncoder.sorted.encode(["text": e.text]), as: UTF8.self)
                (kind, title, id) = ("samples", e.title, nil)
            default: return
            }
        } catch {
            return bad("session not saved: \(error)")
        }
        let provenance = p
        withNotebook({ nb in
            try nb.saveArtifact(id: id, kind: kind, source: pane.origin, title: title, payload: payload, provenance: provenance)
        }) { app, result in
            switch result {
            case .success(let saved): if pane == .chat { app.state.chat.transcriptArtifact = saved }
            case .failure(let error): app.state.message = ("session not saved: \(error)", true)
            }
        }
    }

    /// Reopening a session brings back its last conversation (read once, at the start).
    private func restoreSession() {
        guard let notebook, let artifacts = try? notebook.artifacts() else { return }
        if let last = artifacts.last(where: { $0.kind == "transcript" && $0.source == "chat" }),
           let chat = try? JSONDecoder().decode(ChatArtifact.self, from: Data(last.payload.utf8)) {
            chat.restore(into: &state.chat)
            state.chat.transcriptArtifact = last.id
        }
        state.notebook.entries = (try? notebook.entries()) ?? []
        state.notebook.report = (try? notebook.report()) ?? Report()
    }
}

/// Carries a closure that is only ever called on the update loop across the notebook's queue.
private struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }
}

extension GenerationEvent {
    /// The job the event belongs to.
    var job: Int {
        switch self {
        case .text(let job, _, _), .sampleFinished(let job, _, _), .progress(let job, _, _), .finished(let job, _): return job
        }
    }
}
