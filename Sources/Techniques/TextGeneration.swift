import Model

/// What one generation technique asks of the model.
public struct GenerationSettings: Codable, Sendable, Equatable {
    public var sampling: SamplingParameters
    public var maxTokens: Int

    public init(sampling: SamplingParameters = SamplingParameters(), maxTokens: Int = 256) {
        self.sampling = sampling
        self.maxTokens = maxTokens
    }
}

/// The outcome of a technique run: the exact prompt text, the generated ids and text, why it stopped,
/// and which engine answered.
public struct GenerationRecord: Codable, Sendable, Equatable {
    public var prompt: String
    public var promptIDs: [TokenID]
    public var ids: [TokenID]
    public var text: String
    public var stopReason: StopReason
    public var settings: GenerationSettings
    /// Who generated it (nil in records written before engines were named).
    public var engine: EngineIdentity?

    public init(prompt: String, promptIDs: [TokenID], ids: [TokenID], text: String, stopReason: StopReason,
                settings: GenerationSettings, engine: EngineIdentity? = nil) {
        self.prompt = prompt
        self.promptIDs = promptIDs
        self.ids = ids
        self.text = text
        self.stopReason = stopReason
        self.settings = settings
        self.engine = engine
    }

    public init(prompt: String, completion c: Completion, settings: GenerationSettings, engine: EngineIdentity) {
        self.init(prompt: prompt, promptIDs: c.promptIDs, ids: c.ids, text: c.text, stopReason: c.stopReason,
                  settings: settings, engine: engine)
    }
}

/// Raw continuation of text with no template (also the narrator persona's mechanism). An empty
/// text samples from the model's prior.
public enum RawCompletion {
    public static func run(_ text: String, settings: GenerationSettings, engine: any TextEngine,
                           cancel: CancellationFlag? = nil, onText: (String) -> Bool = { _ in true }) throws -> GenerationRecord {
        let c = try engine.complete(text, parameters: settings.sampling, maxTokens: settings.maxTokens, cancel: cancel, onText: onText)
        return GenerationRecord(prompt: text, completion: c, settings: settings, engine: engine.identity)
    }
}

/// Chat through the model's template, with an optional system prompt and assistant prefill.
public enum ChatTurn {
    /// `messages` is the conversation so far, ending with the user's turn. The returned text is
    /// what the model wrote after the prefill (the prefill itself is in `prompt`).
    public static func run(messages: [ChatMessage], system: String? = nil, prefill: String = "",
                           settings: GenerationSettings, engine: any TextEngine, cancel: CancellationFlag? = nil,
                           onText: (String) -> Bool = { _ in true }) throws -> GenerationRecord {
        var all = messages
        if let system { all.insert(ChatMessage(role: "system", content: system), at: 0) }
        let prompt = try engine.chatPrompt(all, prefill: prefill)
        // The template may already begin with BOS: the engine never adds a second.
        let c = try engine.complete(prompt, parameters: settings.sampling, maxTokens: settings.maxTokens, cancel: cancel, onText: onText)
        return GenerationRecord(prompt: prompt, completion: c, settings: settings, engine: engine.identity)
    }
}
