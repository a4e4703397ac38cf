import Foundation
import Model
import Techniques
import Workbench

/// The six panes, numbered as on the tab bar.
public enum Pane: Int, CaseIterable, Sendable {
    case chat = 1, prefill, persona, features, notebook, data

    public var title: String {
        switch self {
        case .chat: return "Chat"
        case .prefill: return "Prefill"
        case .persona: return "Persona"
        case .features: return "Features"
        case .notebook: return "Notebook"
        case .data: return "Data"
        }
    }

    var origin: String { title.lowercased() }
}

/// Sampling settings a pane keeps for itself, shown in its header and edited with `:set`.
public struct PaneSettings: Equatable, Sendable {
    public var temperature: Float = 0.8
    public var topP: Float = 0.95
    public var maxTokens = 200
    public var seed: UInt64 = 0
    public var samples = 1

    var generation: GenerationSettings {
        GenerationSettings(sampling: SamplingParameters(temperature: temperature, topK: 40, topP: topP, minP: 0.05,
                                                        repetitionPenalty: 1.0, seed: seed),
                           maxTokens: maxTokens)
    }

    var summary: String {
        String(format: "T %.2f  top-p %.2f  max %d  seed %llu  ×%d", temperature, topP, maxTokens, seed, samples)
    }

    var asDictionary: [String: String] {
        ["temperature": String(temperature), "top_p": String(topP), "max_tokens": String(maxTokens),
         "samples": String(samples)]
    }
}

/// The samples of one multi-sample run, filled as they stream, with the auditor's live regex count.
public struct SampleRun: Equatable, Sendable {
    public var texts: [String]
    public var finished: [Bool]
    public var prompt: String = ""
    public var seeds: [UInt64]
    /// How many samples were asked for, when the run stopped before they all finished (cancelled,
    /// or an error); the unfinished ones are then dropped.
    public var requested: Int?

    /// Keeps only the finished samples, remembering how many were asked for.
    mutating func stop() {
        guard finished.contains(false) else { return }
        let keep = finished.indices.filter { finished[$0] }
        requested = texts.count
        texts = keep.map { texts[$0] }
        seeds = keep.map { seeds[$0] }
        finished = keep.map { _ in true }
    }

    init(count: Int, seed: UInt64) {
        texts = Array(repeating: "", count: count)
        finished = Array(repeating: false, count: count)
        seeds = (0..<count).map { seed &+ UInt64($0) }
    }

    /// Indices of the samples whose text matches `pattern` (case-insensitive); nil for no or a bad pattern.
    func matching(_ pattern: String) -> [Int]? {
        guard !pattern.isEmpty, let regex = try? MultiSample.compile(pattern) else { return nil }
        return texts.indices.filter { MultiSample.matches(regex, texts[$0]) }
    }
}

/// How a pane shows its samples.
public enum SampleLayout: Sendable { case list, columns }

/// Keyboard focus: typing into the pane's text field, or bare keys as commands.
public enum Focus: Sendable { case input, normal }

public enum Overlay: Equatable, Sendable {
    case none
    case help
    case palette(TextField)
    case search(TextField)
}

/// A scroll that needs the laid-out pane, resolved when the next frame is drawn (`App.frame`).
public enum ScrollRequest: Equatable, Sendable {
    case start, end, selection
    /// The search match with this index (wrapping around).
    case match(Int)
}

/// A pane's length and visible rows as last drawn.
public struct Viewport: Equatable, Sendable {
    public var lines: Int
    public var height: Int
}

/// Everything the screen shows; `App.update` changes it, `Screen.render` draws it.
public struct AppState: Sendable {
    public var pane: Pane = .chat
    public var focus: Focus = .input
    public var overlay: Overlay = .none
    /// The help overlay's first line shown, and its filter while one is typed or kept.
    public var helpScroll = 0
    public var helpFilter: TextField?
    public var helpFilterTyping = false
    /// The completions Tab found in the command palette, when there were several.
    public var paletteCandidates: [String] = []
    public var width: Int
    public var height: Int

    public var chat = ChatState()
    public var prefill = PrefillState()
    public var persona = PersonaState()
    public var notebook = NotebookState()
    public var data = DataPaneState()
    public var features = FeaturesPaneState()

    /// A scroll waiting for the next frame, and each pane's size as last drawn.
    public var scrollRequest: ScrollRequest?
    public var viewports: [Pane: Viewport] = [:]

    /// The pane's search (`/`): the query and which match is current.
    public var search: [Pane: String] = [:]
    public var searchMatch: [Pane: Int] = [:]

    // Status bar.
    public var modelName: String
    public var adapterName: String?
    /// "host:port" of the serving engine the model runs on; nil in-process.
    public var backend: String?
    public var sessionPath: String?
    /// Tokens in each pane's KV cache (each pane keeps its own history), as the last run reported.
    public var contextByPane: [Pane: Int] = [:]
    /// The shown pane's context use.
    public var contextUsed: Int { contextByPane[pane] ?? 0 }
    public var contextLimit: Int
    public var tokensPerSecond: Double?
    /// A one-line message for the footer (errors, confirmations), cleared by the next key.
    public var message: (text: String, isError: Bool)?

    public var running: (job: Int, pane: Pane)?
    /// The running job is on the base model (the adapter off).
    public var runningBase = false
    var nextJob = 1

    public var theme: Theme
    public var themeName: String { theme.name }
    public var shouldQuit = false
    /// `q` said once that unsaved drafts would be lost; a second `q` quits.
    var quitWarned = false

    public init(width: Int, height: Int, modelName: String, adapterName: String? = nil, sessionPath: String? = nil,
                contextLimit: Int, theme: Theme) {
        self.width = width
        self.height = height
        self.modelName = modelName
        self.adapterName = adapterName
        self.sessionPath = sessionPath
        self.contextLimit = contextLimit
        self.theme = theme
    }

    public var isGenerating: Bool { running != nil }

    func settings(of pane: Pane) -> PaneSettings? {
        switch pane {
        case .chat: return chat.settings
        case .prefill: return prefill.settings
        case .persona: return persona.settings
        case .features: return features.settings
        default: return nil
        }
    }

    mutating func setSettings(_ s: PaneSettings, of pane: Pane) {
        switch pane {
        case .chat: chat.settings = s
        case .prefill: prefill.settings = s
        case .persona: persona.settings = s
        case .features: features.settings = s
        default: break
        }
    }
}
