import Model

/// Persona swap: let the model write text that is not the assistant's turn, where training to keep
/// a secret may not reach.
public enum PersonaMode: String, CaseIterable, Codable, Sendable {
    /// After the conversation so far, open a user turn and let the model write it.
    case user
    /// Continue third-person text raw, with no chat template.
    case narrator
    /// Sample from an empty prompt (the model's prior).
    case empty
}

public enum Persona {
    /// The prompt text for `mode`: for `.user`, the conversation rendered by the model's own
    /// template followed by an opened user turn (found by rendering a marker message and cutting
    /// at the marker, so any template works); for `.narrator`, `text` itself; for `.empty`, "".
    public static func prompt(_ mode: PersonaMode, conversation: [ChatMessage], system: String?, text: String,
                              format: PromptFormat) throws -> String {
        switch mode {
        case .narrator: return text
        case .empty: return ""
        case .user:
            var messages = conversation
            if let system { messages.insert(ChatMessage(role: "system", content: system), at: 0) }
            let marker = "\u{E000}persona-swap\u{E000}"
            let rendered = try format.render(messages + [ChatMessage(role: "user", content: marker)], addGenerationPrompt: false)
            guard let cut = rendered.range(of: marker) else { return rendered }
            return String(rendered[..<cut.lowerBound]) + text
        }
    }

    /// One sample: the prompt continued raw (the template is already in it for `.user`).
    public static func run(_ mode: PersonaMode, conversation: [ChatMessage], system: String? = nil, text: String = "",
                           settings: GenerationSettings, engine: any TextEngine, cancel: CancellationFlag? = nil,
                           onText: (String) -> Bool = { _ in true }) throws -> GenerationRecord {
        let p = try prompt(mode, conversation: conversation, system: system, text: text, format: engine.format)
        return try RawCompletion.run(p, settings: settings, engine: engine, cancel: cancel, onText: onText)
    }
}
