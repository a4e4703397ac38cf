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

/// The outcome of a technique run: the exact prompt text, the generated ids and text, why it stopped.
public struct GenerationRecord: Codable, Sendable, Equatable {
    public var prompt: String
    public var promptIDs: [TokenID]
    public var ids: [TokenID]
    public var text: String
    public var stopReason: StopReason
    public var settings: GenerationSettings

    public init(prompt: String, promptIDs: [TokenID], ids: [TokenID], text: String, stopReason: StopReason,
                settings: GenerationSettings) {
        self.prompt = prompt
        self.promptIDs = promptIDs
        self.ids = ids
        self.text = text
        self.stopReason = stopReason
        self.settings = settings
    }
}

/// Raw continuation of text with no template (also the narrator persona's mechanism).
public enum RawCompletion {
    public static func run(_ text: String, settings: GenerationSettings, generator: Generator,
                           onText: (String) -> Bool = { _ in true }) throws -> GenerationRecord {
        let tokenizer = generator.loaded.tokenizer
        var ids = tokenizer.encodePrompt(text)
        if ids.isEmpty {
            // An empty prompt samples from the model's prior: start from BOS (or EOS, the usual
            // document separator of models without one).
            guard let start = tokenizer.bosID ?? tokenizer.eosID else { throw EngineError.emptyInput }
            ids = [start]
        }
        let g = try generator.generate(prompt: ids, parameters: settings.sampling, maxTokens: settings.maxTokens) { _, piece in
            onText(piece)
        }
        return GenerationRecord(prompt: text, promptIDs: ids, ids: g.ids, text: g.text, stopReason: g.stopReason, settings: settings)
    }
}

/// Chat through the model's template, with an optional system prompt and assistant prefill.
public enum ChatTurn {
    /// `messages` is the conversation so far, ending with the user's turn. The returned text is
    /// what the model wrote after the prefill (the prefill itself is in `prompt`).
    public static func run(messages: [ChatMessage], system: String? = nil, prefill: String = "",
                           settings: GenerationSettings, generator: Generator,
                           onText: (String) -> Bool = { _ in true }) throws -> GenerationRecord {
        var all = messages
        if let system { all.insert(ChatMessage(role: "system", content: system), at: 0) }
        let prompt = try generator.loaded.chatPrompt(all, prefill: prefill)
        // The template may already begin with BOS: encodePrompt never adds a second.
        let ids = generator.loaded.tokenizer.encodePrompt(prompt)
        let g = try generator.generate(prompt: ids, parameters: settings.sampling, maxTokens: settings.maxTokens) { _, piece in
            onText(piece)
        }
        return GenerationRecord(prompt: prompt, promptIDs: ids, ids: g.ids, text: g.text, stopReason: g.stopReason, settings: settings)
    }
}
