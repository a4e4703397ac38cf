import Foundation

// Public entry points for rendering a GGUF `tokenizer.chat_template`.
//
// Rendering mirrors transformers' apply_chat_template: jinja2 with trim_blocks and
// lstrip_blocks, `raise_exception` and `strftime_now` as globals, `tools` and
// `documents` defined as None unless the caller passes them in `extra`, and `tojson`
// behaving like json.dumps(ensure_ascii=False) with dict order preserved.

public struct ChatMessage: Sendable, Equatable, Codable {
    public var role: String  // "system", "user", "assistant"
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// A template syntax or rendering error. The description names the position
/// ("line 3:14: …") and, for `raise_exception`, the template's own message.
public struct ChatTemplateError: Error, CustomStringConvertible {
    public var description: String

    public init(description: String) {
        self.description = description
    }
}

/// What a template may make the parser and the interpreter do. A template comes from the model
/// file, so from a stranger: without these, a template nested deep enough overflows the stack at
/// load, and `'a' * 10**12`, a recursive macro or three nested `range(99999)` loops exhaust memory
/// or time at render. Each limit, when reached, is a `ChatTemplateError` naming it; the defaults
/// are far above what real templates need (the deepest real template nests about 25 levels by
/// the parser's count and renders a conversation with a few thousand loop iterations).
public struct ChatTemplateLimits: Sendable, Equatable {
    /// Parse depth: blocks inside blocks, brackets, calls, unary operators and each link of an
    /// operator, filter or attribute chain, counted together.
    public var nesting = 64
    /// Macro calls inside macro calls (recursion included).
    public var callDepth = 32
    /// Bytes of output, and of any one string the template builds (`*`, `+`, `~`, filters), before
    /// the render allowance: `render` adds twice the bytes of the messages and of string `extra`
    /// values, so a long conversation never trips it.
    public var outputBytes = 1 << 20
    /// Items in any one list the template builds (`*`, `+`, `range`, filters).
    public var listLength = 100_000
    /// Containers inside containers in any value the template builds (`[ns.v]` in a loop, a chain
    /// of namespaces, `batch` applied again and again): deeper values would overflow the stack
    /// when compared, printed or freed. A namespace holding itself counts as too deep.
    public var valueDepth = 64
    /// Loop iterations in one render, all loops together (and the per-item work of filters such
    /// as `unique`, `join` or `map`).
    public var iterations = 1_000_000
    /// Wall-clock seconds one render may take; checked every few hundred steps.
    public var seconds: Double = 10

    public init() {}

    public static let standard = ChatTemplateLimits()
}

public struct ChatTemplate: Sendable {
    public let source: String
    public let limits: ChatTemplateLimits
    private let body: [JinjaStatement]

    /// Parses `source` once; syntax errors name the line and column, and a template nested deeper
    /// than `limits.nesting` is an error, not a stack overflow.
    public init(source: String, limits: ChatTemplateLimits = .standard) throws(ChatTemplateError) {
        self.source = source
        self.limits = limits
        do {
            body = try JinjaParser.parse(source, limits: limits)
        } catch let error as ChatTemplateError {
            throw error
        } catch {
            throw ChatTemplateError(description: "\(error)")
        }
    }

    /// Renders messages. Undefined variables are falsy/empty as in Jinja.
    /// `raise_exception(msg)` throws a `ChatTemplateError` containing `msg`.
    /// `extra` adds or overrides template variables (e.g. `tools`, `date_string`).
    /// `now` is the moment `strftime_now` formats (default: the current time), so a test can pin it.
    public func render(
        messages: [ChatMessage], addGenerationPrompt: Bool,
        bosToken: String = "", eosToken: String = "",
        extra: [String: JinjaValue] = [:], now: Date? = nil
    ) throws -> String {
        var context: [String: JinjaValue] = [:]
        for name in JinjaInterpreter.globalFunctions {
            context[name] = .function(JinjaFunction(name: name))
        }
        context["messages"] = .array(
            messages.map { .object(JinjaObject([("role", .string($0.role)), ("content", .string($0.content))])) })
        context["add_generation_prompt"] = .bool(addGenerationPrompt)
        context["bos_token"] = .string(bosToken)
        context["eos_token"] = .string(eosToken)
        // transformers always passes these, as None when the caller has none.
        context["tools"] = JinjaValue.none
        context["documents"] = JinjaValue.none
        for (key, value) in extra { context[key] = value }
        // The caller's own text may be long; the size limits grow with it.
        var inputBytes = bosToken.utf8.count + eosToken.utf8.count
        for m in messages { inputBytes += m.role.utf8.count + m.content.utf8.count }
        for value in extra.values { if case .string(let s) = value { inputBytes += s.utf8.count } }
        let interpreter = JinjaInterpreter(context: context, limits: limits, allowance: 2 * inputBytes)
        if let now { interpreter.now = time_t(now.timeIntervalSince1970) }
        return try interpreter.render(body)
    }
}

/// Hard-coded renderers for the common prompt formats, for templates the interpreter
/// cannot parse. Their output matches the reference templates for plain conversations
/// (ChatML as in SmolLM2/Qwen2.5 when a system message is given, Llama 3 Instruct,
/// Gemma 2/3 instruct).
public enum ChatFormat: Sendable, Equatable {
    case chatML, llama3, gemma

    /// Chooses a format by the special tokens a template mentions.
    public static func detect(template: String) -> ChatFormat? {
        if template.contains("<|im_start|>") { return .chatML }
        if template.contains("<|start_header_id|>") { return .llama3 }
        if template.contains("<start_of_turn>") { return .gemma }
        return nil
    }

    public func render(messages: [ChatMessage], addGenerationPrompt: Bool, bosToken: String = "") -> String {
        var out = ""
        switch self {
        case .chatML:
            for m in messages { out += "<|im_start|>\(m.role)\n\(m.content)<|im_end|>\n" }
            if addGenerationPrompt { out += "<|im_start|>assistant\n" }
        case .llama3:
            out += bosToken
            for m in messages {
                out += "<|start_header_id|>\(m.role)<|end_header_id|>\n\n\(trimmed(m.content))<|eot_id|>"
            }
            if addGenerationPrompt { out += "<|start_header_id|>assistant<|end_header_id|>\n\n" }
        case .gemma:
            // Gemma has no system role: the system text prefixes the first user turn.
            out += bosToken
            var turns = messages[...]
            var prefix = ""
            if let first = turns.first, first.role == "system" {
                prefix = first.content + "\n\n"
                turns = turns.dropFirst()
            }
            for (i, m) in turns.enumerated() {
                let role = m.role == "assistant" ? "model" : m.role
                out += "<start_of_turn>\(role)\n\(i == 0 ? prefix : "")\(trimmed(m.content))<end_of_turn>\n"
            }
            if addGenerationPrompt { out += "<start_of_turn>model\n" }
        }
        return out
    }

    private func trimmed(_ s: String) -> String {
        JinjaText.strip(s, chars: nil, leading: true, trailing: true)
    }
}
