import Foundation
import Model
import Techniques
import Workbench

/// What the Features pane works with: the model, an SAE at one of its hook points, and the SAE's
/// feature index when one was built (`workbench sae index`).
public final class FeatureTools: @unchecked Sendable {
    public let loaded: LoadedModel
    public let sae: SparseAutoencoder
    public let index: FeatureIndex?
    public let labels: [Int: String]

    public init(loaded: LoadedModel, sae: SparseAutoencoder) throws {
        guard let point = sae.hookPoint else { throw FeatureIndex.Failure.noHookPoint(sae.hookName) }
        guard point.layer < loaded.model.layerCount else {
            throw ActivationCapture.Failure.layerOutOfRange(point.layer, layers: loaded.model.layerCount)
        }
        self.loaded = loaded
        self.sae = sae
        index = try? FeatureIndex.load(besides: sae)
        // Labels from the feature index, else from a labels.json beside the SAE.
        if let index {
            labels = Dictionary(uniqueKeysWithValues: index.features.map { ($0.index, $0.label) })
        } else {
            labels = (try? FeatureActivations.loadLabels(directory: sae.directory)).flatMap { $0 } ?? [:]
        }
    }
}

/// Per-token activations of a text's strongest features.
public struct FeatureTokens: Sendable, Equatable {
    public var source: String
    public var tokens: [String]
    public var top: [FeatureActivation]
    /// For each feature in `top`: its activation at every token.
    public var perToken: [Int: [Float]]
}

/// Pane 4: SAE features of a prompt or the chat transcript, feature search and detail, steering
/// beside the unsteered reply, activation fuzzing, features of the assistant's tokens.
public struct FeaturesPaneState: Sendable {
    public enum Field: Sendable { case prompt, search }
    public enum List: Sendable { case reading, search, assistant, difference }
    /// What the auditor did last, and so what `p` pins: the selected feature of the list, the
    /// steering comparison, or the fuzzing samples.
    public enum Work: Sendable { case list, steering, fuzz }
    public var field: Field = .prompt
    public var prompt = TextField()
    public var query = TextField()
    public var pattern = TextField("reward")
    public var reduce: FeatureReduction = .max
    public var list: List = .reading
    public var reading: FeatureTokens?
    public var hits: [FeatureSearchHit]?
    public var assistant: AssistantFeatureReport?
    /// The prompt's features on the organism minus the base model (`c`), and what was read.
    public var difference: [FeatureDifference]?
    public var differenceSource = ""
    public var selected = 0
    public var detail: FeatureDetail?
    public var steering: SteeringComparison?
    public var fuzz: SampleRun?
    public var lastWork: Work = .list
    public var strength: Float = 4
    public var steerMode: SteeringSpec.Mode = .add
    /// Fuzzing noise as a fraction of each token's RMS. On the shipped models 0.1-0.2 varies the
    /// reply and keeps it readable; at 0.5 it is gibberish (issue 15, item 16; README).
    public static let usefulNoise = "0.1-0.2 varies the reply and keeps it readable, 0.3 breaks it, 0.5 and above is gibberish"
    public var noise: Float = 0.2
    public var busy: String?
    public var scroll = 0
    public var settings = PaneSettings(temperature: 0.8, maxTokens: 80, samples: 8)
    /// "name (hook, d_sae N, index: yes/no)", or why there is no SAE.
    public var saeSummary: String?
    /// Why the pane cannot work with this engine at all (a serving engine gives only text).
    public var engineNote: String?
    public var available = false
    /// The SAE's feature labels (from its index), for titles of pins.
    public var labels: [Int: String] = [:]

    /// The feature currently selected in whichever list is shown.
    var selectedFeature: Int? {
        switch list {
        case .reading: return reading.flatMap { $0.top.indices.contains(selected) ? $0.top[selected].index : nil }
        case .search: return hits.flatMap { $0.indices.contains(selected) ? $0[selected].feature : nil }
        case .assistant: return assistant.flatMap { $0.features.indices.contains(selected) ? $0.features[selected].index : nil }
        case .difference: return difference.flatMap { $0.indices.contains(selected) ? $0[selected].index : nil }
        }
    }

    var listCount: Int {
        switch list {
        case .reading: return reading?.top.count ?? 0
        case .search: return hits?.count ?? 0
        case .assistant: return assistant?.features.count ?? 0
        case .difference: return difference?.count ?? 0
        }
    }
}

extension App {
    var selectedFeature: Int? { state.features.selectedFeature }

    /// Runs feature work on the model's own queue (it installs hooks, so it must not overlap a
    /// generation), then applies the result on the update loop.
    func featureWork(_ what: String, _ work: @escaping @Sendable (FeatureTools) throws -> (App) -> Void) {
        guard let tools = featureTools, let runner else {
            state.message = ("no SAE loaded: start with --sae DIR (make sae trains the default one)", true)
            return
        }
        guard !state.isGenerating, state.features.busy == nil else {
            state.message = ("the model is busy: Esc cancels", true)
            return
        }
        state.features.busy = what
        runner.perform { [weak self] in
            let apply: (App) -> Void
            do {
                apply = try work(tools)
            } catch {
                let message = "\(error)"
                apply = { app in app.state.message = ("\(what): \(message)", true) }
            }
            self?.enqueue(.work { app in
                app.state.features.busy = nil
                apply(app)
            })
        }
    }

    func readFeatures(_ text: String, source: String) {
        let reduce = state.features.reduce
        featureWork("reading features") { tools in
            let read = try FeatureActivations.perToken(text: text, sae: tools.sae, model: tools.loaded, reduce: reduce)
            let top = FeatureActivations.topFeatures(read.reduced, top: 20)
            var perToken: [Int: [Float]] = [:]
            for f in top { perToken[f.index] = read.features.map { $0[f.index] } }
            let tokens = read.tokens.map { tools.loaded.tokenizer.decode([$0], renderSpecial: true) }
            let labelled = top.map { FeatureActivation(index: $0.index, activation: $0.activation, label: tools.labels[$0.index]) }
            let result = FeatureTokens(source: source, tokens: tokens, top: labelled, perToken: perToken)
            return { app in
                app.state.features.reading = result
                app.state.features.lastWork = .list
                app.state.features.list = .reading
                app.state.features.selected = 0
                app.state.features.scroll = 0
                app.state.focus = .normal
                app.loadFeatureDetail()
            }
        }
    }

    /// The Chat pane's conversation as the model reads it (through its template); nil, with a
    /// message, when there is none.
    func transcriptText() -> String? {
        guard !state.chat.turns.isEmpty, let tools = featureTools else {
            state.message = ("type a prompt, or have a conversation in Chat first", true)
            return nil
        }
        var messages = state.chat.turns
        if !state.chat.system.isEmpty { messages.insert(ChatMessage(role: "system", content: state.chat.system), at: 0) }
        return try? tools.loaded.chatPrompt(messages, addGenerationPrompt: false)
    }

    /// Features of the Chat pane's conversation.
    func featuresOfTranscript() {
        guard let text = transcriptText() else { return }
        readFeatures(text, source: "chat transcript")
    }

    func searchFeatures(_ query: String) {
        guard let index = featureTools?.index else {
            state.message = ("this SAE has no feature index: build one with `workbench sae index`", true)
            return
        }
        state.features.hits = index.search(query, limit: 50)
        state.features.lastWork = .list
        state.features.list = .search
        state.features.selected = 0
        state.features.scroll = 0
        state.focus = .normal
        loadFeatureDetail()
    }

    func loadFeatureDetail() {
        guard let f = selectedFeature, let tools = featureTools, let index = tools.index else {
            state.features.detail = nil
            return
        }
        state.features.detail = try? index.detail(feature: f, sae: tools.sae, nearest: 8)
    }

    /// The input steering and fuzzing run on: the typed prompt as a user message, else the Chat
    /// pane's conversation up to its last user turn.
    func featureInput() -> GenerationInput? {
        let prompt = state.features.prompt.text
        if !prompt.isEmpty { return .chat(messages: [ChatMessage(role: "user", content: prompt)], system: nil, prefill: "") }
        guard let last = state.chat.turns.lastIndex(where: { $0.role == "user" }) else { return nil }
        return .chat(messages: Array(state.chat.turns[...last]), system: state.chat.system.isEmpty ? nil : state.chat.system, prefill: "")
    }

    func steerSelected() {
        guard let f = selectedFeature else { state.message = ("select a feature first (j/k)", true); return }
        guard let input = featureInput() else { state.message = ("type a prompt (or chat first) to steer a reply", true); return }
        let spec = SteeringSpec(feature: f, strength: state.features.strength, mode: state.features.steerMode)
        let settings = state.features.settings.generation
        featureWork("steering") { tools in
            let comparison = try Steering.compare(input, specs: [spec], sae: tools.sae, settings: settings, model: tools.loaded)
            return { app in
                app.state.features.steering = comparison
                app.state.features.lastWork = .steering
                app.state.features.scroll = 0
            }
        }
    }

    func fuzz() {
        guard let input = featureInput() else { state.message = ("type a prompt (or chat first) to fuzz a reply", true); return }
        guard let point = featureTools?.sae.hookPoint else { return }
        let (scale, samples, settings) = (state.features.noise, state.features.settings.samples, state.features.settings.generation)
        state.features.fuzz = SampleRun(count: samples, seed: settings.sampling.seed)
        state.features.lastWork = .fuzz
        featureWork("fuzzing") { [weak self] tools in
            let set = try Fuzzing.run(input, at: point, scale: scale, samples: samples, pattern: nil, settings: settings, model: tools.loaded,
                                      onSample: { i, record in
                                          self?.enqueue(.work { app in
                                              app.state.features.fuzz?.texts[i] = record.text
                                              app.state.features.fuzz?.finished[i] = true
                                          })
                                          return true
                                      })
            return { app in
                for (i, r) in set.samples.enumerated() where app.state.features.fuzz?.texts.indices.contains(i) == true {
                    app.state.features.fuzz?.texts[i] = r.text
                    app.state.features.fuzz?.finished[i] = true
                }
            }
        }
    }

    /// Features on most assistant tokens across the session's conversations (current and branches).
    func assistantFeatures() {
        let conversations = ([state.chat.turns] + state.chat.branches.map(\.turns)).filter { $0.contains { $0.role == "assistant" } }
        guard !conversations.isEmpty else { state.message = ("no assistant turns yet: chat first", true); return }
        featureWork("assistant-token features") { tools in
            let report = try AssistantFeatures.rank(conversations: conversations, sae: tools.sae, model: tools.loaded, top: 20,
                                                    labels: tools.labels)
            return { app in
                app.state.features.assistant = report
                app.state.features.lastWork = .list
                app.state.features.list = .assistant
                app.state.features.selected = 0
                app.loadFeatureDetail()
            }
        }
    }

    /// Runs what the Features pane's update asked for.
    func run(_ request: FeatureRequest) {
        switch request {
        case .read(let text, let source): readFeatures(text, source: source)
        case .transcript: featuresOfTranscript()
        case .search(let query): searchFeatures(query)
        case .detail: loadFeatureDetail()
        case .steer: steerSelected()
        case .fuzz: fuzz()
        case .assistant: assistantFeatures()
        case .compareBase: compareFeatures()
        }
    }

    /// The prompt's (else the Chat transcript's) features on the organism and on the base model
    /// (the adapter off): the features the adapter moves most, organism minus base.
    func compareFeatures() {
        let reduce = state.features.reduce
        var source = "prompt", text = state.features.prompt.text
        if text.isEmpty {
            guard let t = transcriptText() else { return }
            (source, text) = ("chat transcript", t)
        }
        featureWork("comparing with the base model") { [source, text] tools in
            let diffs = try FeatureActivations.compareBase(text: text, sae: tools.sae, model: tools.loaded, reduce: reduce, top: 20, labels: tools.labels)
            return { app in
                app.state.features.difference = diffs
                app.state.features.differenceSource = source
                app.state.features.lastWork = .list
                app.state.features.list = .difference
                app.state.features.selected = 0
                app.state.features.scroll = 0
                app.state.focus = .normal
                app.state.message = ("organism minus base on the \(source): \(diffs.filter { $0.difference > 0 }.count) features up, \(diffs.filter { $0.difference < 0 }.count) down", false)
                app.loadFeatureDetail()
            }
        }
    }
}

extension FeaturesPaneState: PaneModel {
    static let pane = Pane.features

    enum Action: Sendable { case transcript, reduce, steer, steerMode, fuzz, assistant, compareBase, detail, find, previous, next }

    static let bindings: [KeyBinding<Action>] = [
        KeyBinding([.char("t")], "features of the Chat transcript", hint: "transcript", .transcript),
        KeyBinding([.char("f")], label: "f (Tab in a field)", "find features by label or context", hint: "find", .find),
        KeyBinding([.char("r")], "reduce by max, sum or last token", .reduce),
        KeyBinding([.char("k"), .up], label: "j / k", "select a feature (its detail and where it fires)", hint: "select", .previous),
        KeyBinding([.char("j"), .down], "next feature", hidden: true, .next),
        KeyBinding([.char("s")], "steer the reply with the selected feature, beside the unsteered one", hint: "steer", .steer),
        KeyBinding([.char("M")], "steering mode: add or scale", .steerMode),
        KeyBinding([.char("z")], "fuzz: N samples with noise at the SAE's layer", hint: "fuzz", .fuzz),
        KeyBinding([.char("a")], "features on the assistant's tokens this session", hint: "assistant", .assistant),
        KeyBinding([.char("c")], "the prompt's (or transcript's) features on the organism minus the base model (adapter off)", hint: "vs base", .compareBase),
        KeyBinding([.char("d")], "reload the selected feature's detail", hidden: true, .detail),
    ]

    mutating func update(_ action: Action, _ app: AppState) -> [Effect] {
        switch action {
        case .transcript: return [.features(.transcript)]
        case .reduce:
            let all = FeatureReduction.allCases
            reduce = all[(all.firstIndex(of: reduce)! + 1) % all.count]
            return [.say("reduce by \(reduce.rawValue) (Enter reads again)")]
        case .steer: return [.features(.steer)]
        case .steerMode:
            steerMode = steerMode == .add ? .scale : .add
            return []
        case .fuzz: return [.features(.fuzz)]
        case .assistant: return [.features(.assistant)]
        case .compareBase: return [.features(.compareBase)]
        case .detail: return [.features(.detail)]
        case .find:
            field = .search
            return [.focus(.input)]
        case .previous, .next:
            guard listCount > 0 else { return [] }
            selected = min(max(0, selected + (action == .next ? 1 : -1)), listCount - 1)
            lastWork = .list
            return [.features(.detail), .keepSelectionInView]
        }
    }

    mutating func submit() -> [Effect] {
        switch field {
        case .prompt: return [.features(prompt.text.isEmpty ? .transcript : .read(text: prompt.text, source: "prompt"))]
        case .search: return [.features(.search(query.text))]
        }
    }

    func view(_ app: AppState, width: Int) -> Screen.PaneView { Screen.featuresView(app, width: width) }

    /// Exactly what the auditor did last: the steering comparison, the fuzzing samples, or the
    /// selected feature (its value, where it fires, its detail), titled after that (issue 15, item 10).
    func evidence(_ app: AppState) -> Evidence? {
        let f = self
        switch f.lastWork {
        case .steering:
            guard let st = f.steering, let spec = st.specs.first else { break }
            let title = "Steering feature \(spec.feature) (\(spec.mode.rawValue) \(spec.strength)) at \(st.hook)"
            return Evidence(title: title, text: "input: \(st.baseline.prompt)\n\nunsteered:\n\(st.baseline.text)\n\nsteered:\n\(st.steered.text)",
                            settings: settings)
        case .fuzz:
            guard let run = f.fuzz else { break }
            return Evidence(title: "Fuzzing: noise \(f.noise) × RMS at the SAE's layer" + Transcript.countSuffix(run, pattern: f.pattern.text),
                            text: Transcript.render(run, pattern: f.pattern.text), settings: settings, extra: ["noise": String(f.noise)])
        case .list:
            break
        }
        guard let feature = selectedFeature else { return nil }
        let label = labels[feature]
        var text = ""
        switch f.list {
        case .reading:
            if let r = f.reading, r.top.indices.contains(f.selected) {
                let a = r.top[f.selected]
                text = String(format: "activation %.3f (%@ over the %@)\n", a.activation, f.reduce.rawValue, r.source)
                if let acts = r.perToken[a.index] {
                    text += "where it fires: " + zip(r.tokens, acts).map { $1 > 0 ? "[\($0)|\(String(format: "%.1f", $1))]" : $0 }.joined() + "\n"
                }
            }
        case .search:
            if let h = f.hits, h.indices.contains(f.selected) {
                text = "matches “\(f.query.text)”; frequency \(String(format: "%.4f", h[f.selected].frequency))\n"
            }
        case .difference:
            if let d = f.difference, d.indices.contains(f.selected) {
                let x = d[f.selected]
                text = String(format: "organism %.3f, base model (adapter off) %.3f, organism minus base %+.3f (%@ over the %@)\n",
                              x.organism, x.base, x.difference, f.reduce.rawValue, f.differenceSource)
            }
        case .assistant:
            if let a = f.assistant, a.features.indices.contains(f.selected) {
                let x = a.features[f.selected]
                text = String(format: "on %.1f%% of assistant tokens vs %.1f%% of others\n", 100 * x.assistantFraction, 100 * x.otherFraction)
            }
        }
        if let d = f.detail, d.summary.index == feature {
            text += "\n" + Screen.featuresDetailLines(d).map(\.plain).joined(separator: "\n")
        }
        return Evidence(title: "Feature \(feature)" + (label.map { ": \($0)" } ?? ""), text: text, settings: settings)
    }
}

extension Screen {
    static func featuresView(_ s: AppState, width: Int) -> PaneView {
        let f = s.features
        var v = PaneView()
        if let note = f.engineNote {
            return emptyState(width: width, title: "Features (sparse-autoencoder features)", text: note)
        }
        guard f.available else {
            return emptyState(width: width, title: "Features (sparse-autoencoder features)", text: """
                No SAE is loaded. Start the workbench with --sae DIR (an SAE in the SAELens format for this \
                model); `make sae` trains the default one (layer 15 of SmolLM2-135M) and builds its feature \
                index. \(f.saeSummary ?? "")
                """)
        }
        v.header.append(StyledLine([Span("SAE ", Style(.title)), Span(f.saeSummary ?? "", Style(.dim))]))
        v.header.append(StyledLine([Span("reduce \(f.reduce.rawValue) (r) │ steer \(f.steerMode.rawValue) ×\(f.strength) (M, :strength) │ noise \(f.noise) (:noise) │ ", Style(.dim)),
                                    Span(f.busy.map { "● \($0)…" } ?? "", Style(.warning))]))
        v.body = featuresBody(s, width: width)
        let focused = s.focus == .input
        let (p, pc) = fieldLines(label: "Prompt › ", field: f.prompt, width: width, focused: focused && f.field == .prompt, maxRows: 3)
        if let pc { v.cursor = pc }
        v.bottom += p
        let (q, qc) = fieldLines(label: "Find feature › ", field: f.query, width: width, focused: focused && f.field == .search, maxRows: 1)
        if let qc { v.cursor = (v.bottom.count + qc.row, qc.col) }
        v.bottom += q
        return v
    }

    static func featureRow(_ selected: Bool, _ index: Int, _ value: String, _ label: String?) -> StyledLine {
        StyledLine([Span(selected ? "› " : "  ", Style(.accent)),
                    Span(String(format: "#%-6d", index), Style(selected ? .selection : .accent, bold: true)),
                    Span(" \(value)  ", Style(.normal)), Span(label ?? "", Style(.dim))])
    }

    static func featuresBody(_ s: AppState, width: Int) -> [StyledLine] {
        let f = s.features
        var out: [StyledLine] = []
        if f.reading == nil && f.hits == nil && f.assistant == nil && f.difference == nil {
            out += Wrap.lines("Type a prompt and press Enter for its strongest features (an empty prompt: the Chat transcript; t also reads the transcript). Tab: find features by label or context. a: features on the assistant's tokens across this session.", width: width, style: Style(.dim))
        }
        switch f.list {
        case .reading:
            if let r = f.reading {
                out.append(StyledLine("Strongest features (\(f.reduce.rawValue), position 0 left out) on the \(r.source): j/k select, s steer", Style(.title)))
                for (i, a) in r.top.enumerated() { out.append(featureRow(i == f.selected, a.index, String(format: "%8.3f", a.activation), a.label)) }
                if r.top.indices.contains(f.selected), let acts = r.perToken[r.top[f.selected].index] {
                    out.append(StyledLine())
                    out.append(StyledLine("Where #\(r.top[f.selected].index) fires (marked tokens, activation in brackets):", Style(.title)))
                    var spans: [Span] = []
                    for (t, a) in zip(r.tokens.map(Screen.tokenText), acts) {
                        if a > 0 {
                            spans.append(Span(t, Style(.match, bold: true)))
                            spans.append(Span(String(format: "[%.1f]", a), Style(.dim)))
                        } else {
                            spans.append(Span(t, Style(.normal)))
                        }
                    }
                    out += Wrap.lines(StyledLine(spans), width: width)
                }
            }
        case .search:
            let hits = f.hits ?? []
            out.append(StyledLine("\(hits.count) features match “\(f.query.text)”", Style(.title)))
            for (i, h) in hits.enumerated() { out.append(featureRow(i == f.selected, h.feature, String(format: "freq %.4f", h.frequency), h.label)) }
        case .difference:
            if let d = f.difference {
                out.append(StyledLine("Organism minus base model (adapter off), \(f.reduce.rawValue) over the \(f.differenceSource): organism  base  difference", Style(.title)))
                if d.isEmpty { out.append(StyledLine("the adapter moves no feature here", Style(.dim))) }
                for (i, x) in d.enumerated() {
                    out.append(featureRow(i == f.selected, x.index, String(format: "%7.2f %7.2f %+8.2f", x.organism, x.base, x.difference), x.label))
                }
            }
        case .assistant:
            if let a = f.assistant {
                out.append(StyledLine("Features on the assistant's tokens (\(a.assistantTokens) tokens in \(a.conversations) conversations): fraction of assistant vs other tokens", Style(.title)))
                for (i, x) in a.features.enumerated() {
                    out.append(featureRow(i == f.selected, x.index, String(format: "%5.1f%% vs %5.1f%%", 100 * x.assistantFraction, 100 * x.otherFraction), x.label))
                }
            }
        }
        if let d = f.detail {
            out.append(StyledLine())
            out += featuresDetailLines(d, width: width)
        }
        if let st = f.steering, let spec = st.specs.first {
            out.append(StyledLine())
            out.append(StyledLine("Steering #\(spec.feature) \(spec.mode.rawValue) \(spec.strength) at \(st.hook), same seed:", Style(.title)))
            out += sideBySide([(StyledLine("unsteered", Style(.accent, bold: true)), StyledLine(st.baseline.text, Style(.assistant))),
                               (StyledLine("steered", Style(.accent, bold: true)), StyledLine(st.steered.text, Style(.assistant)))], width: width)
        }
        if let run = f.fuzz {
            out.append(StyledLine())
            out += sampleLines(run, pattern: f.pattern.text, layout: .list, width: width, title: "Fuzzing: noise \(f.noise) × RMS")
        }
        return out
    }

    /// A token as the token views show it: a newline as ↵ (and a tab as →), so a context with line
    /// breaks keeps its rows (issue 15, item 8).
    public static func tokenText(_ t: String) -> String {
        t.replacingOccurrences(of: "\r\n", with: "↵").replacingOccurrences(of: "\n", with: "↵").replacingOccurrences(of: "\t", with: "→")
    }

    /// A feature's detail: label, frequency and promoted tokens, top contexts, nearest features.
    static func featuresDetailLines(_ d: FeatureDetail, width: Int = 100) -> [StyledLine] {
        let sm = d.summary
        var out: [StyledLine] = []
        out.append(StyledLine("Feature #\(sm.index): \(sm.label)", Style(.title, underline: true)))
        out.append(StyledLine(String(format: "frequency %.5f (%d tokens) │ max %.3f │ mean %.3f │ promotes: ", sm.frequency, sm.activeTokens, sm.maxActivation, sm.meanActivation)
                              + sm.promotedTokens.joined(separator: " "), Style(.dim)))
        for c in sm.contexts.prefix(5) {
            var spans: [Span] = [Span(String(format: "%7.2f  ", c.activation), Style(.accent))]
            for (i, t) in c.tokens.map(tokenText).enumerated() {
                spans.append(Span(t, c.activations.indices.contains(i) && c.activations[i] > 0 ? Style(.match, bold: i == c.peak) : Style(.normal)))
            }
            out += Wrap.lines(StyledLine(spans), width: width, indent: "         ")
        }
        if !d.neighbours.isEmpty {
            out.append(StyledLine("Nearest by decoder cosine:", Style(.dim)))
            for (n, label) in d.neighbours { out.append(StyledLine(String(format: "  #%-6d cos %.3f  ", n.index, n.cosine) + label, Style(.normal))) }
        }
        return out
    }

    /// Columns side by side, each a heading over its wrapped text.
    static func sideBySide(_ columns: [(head: StyledLine, body: StyledLine)], width: Int) -> [StyledLine] {
        let n = max(1, columns.count)
        let colWidth = max(8, (width - (n - 1) * 3) / n)
        let wrapped = columns.map { [$0.head] + Wrap.lines($0.body, width: colWidth) }
        var out: [StyledLine] = []
        for r in 0..<(wrapped.map(\.count).max() ?? 0) {
            var line = StyledLine()
            for (k, col) in wrapped.enumerated() {
                let cell = r < col.count ? col[r] : StyledLine()
                line.spans += cell.spans
                let pad = colWidth - CellWidth.of(ScreenText.clean(cell.plain))
                if pad > 0 { line.spans.append(Span(String(repeating: " ", count: pad))) }
                if k < wrapped.count - 1 { line.spans.append(Span(" │ ", Style(.border))) }
            }
            out.append(line)
        }
        return out
    }
}
