import Foundation

/// How chat messages become prompt text: the model's own chat template (or, when it has none or it
/// is beyond the interpreter, the built-in format of its family) with its BOS and EOS text. The
/// in-process engine takes it from the GGUF it runs; a remote engine from the GGUF or Hugging Face
/// `tokenizer_config.json` of the served model, so both send the server the same bytes.
public struct PromptFormat: Sendable {
    /// The file's `chat_template`, parsed; nil when absent or beyond the interpreter.
    public let template: ChatTemplate?
    /// Why the template could not be used, when it could not.
    public let templateProblem: String?
    /// The format used without a template.
    public let builtIn: ChatFormat
    public let bosText: String
    public let eosText: String
    /// Where it came from (a path), for messages.
    public let source: String

    public init(template source: String?, builtIn: ChatFormat, bosText: String, eosText: String, origin: String,
                templateKey: String = "chat_template") {
        self.builtIn = builtIn
        self.bosText = bosText
        self.eosText = eosText
        self.source = origin
        if let source {
            do {
                template = try ChatTemplate(source: source)
                templateProblem = nil
            } catch {
                template = nil
                templateProblem = "\(error.description); using the built-in \(builtIn) format"
            }
        } else {
            template = nil
            templateProblem = "\(origin) has no \(templateKey); using the built-in \(builtIn) format"
        }
    }

    /// The format of a GGUF file: `tokenizer.chat_template`, BOS/EOS from its tokenizer.
    public init(gguf file: GGUFFile, tokenizer: Tokenizer, architecture: String, origin: String) {
        let source = file.metadata["tokenizer.chat_template"]?.string
        let tokens = file.metadata["tokenizer.ggml.tokens"]?.array
        let builtIn = PromptFormat.builtInFormat(template: source, architecture: architecture,
                                                 hasLlama3Headers: tokens?.contains(where: { $0.string == "<|start_header_id|>" }) ?? false)
        self.init(template: source, builtIn: builtIn,
                  bosText: tokenizer.bosID.map { tokenizer.tokenText($0) } ?? "",
                  eosText: tokenizer.eosID.map { tokenizer.tokenText($0) } ?? "",
                  origin: origin, templateKey: "tokenizer.chat_template")
    }

    /// The format a template file gives: a GGUF (its metadata and tokenizer; the weights are not
    /// read) or a Hugging Face `tokenizer_config.json` (`chat_template`, `bos_token`, `eos_token`).
    public static func load(path: String) throws -> PromptFormat {
        let url = URL(fileURLWithPath: path)
        guard FileManager.default.fileExists(atPath: path) else {
            throw PromptFormatError("no template file at \(UntrustedText.excerpt(path))")
        }
        let head = (try? FileHandle(forReadingFrom: url).read(upToCount: 4)) ?? Data()
        if head == Data("GGUF".utf8) {
            let file = try GGUFFile(path: path)
            let tokenizer = try Tokenizer(gguf: file)
            let arch = file.metadata["general.architecture"]?.string ?? ""
            return PromptFormat(gguf: file, tokenizer: tokenizer, architecture: arch, origin: url.lastPathComponent)
        }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw PromptFormatError("cannot read \(UntrustedText.excerpt(path)): \(error.localizedDescription)")
        }
        return try tokenizerConfig(data, origin: url.lastPathComponent)
    }

    /// A Hugging Face `tokenizer_config.json`: `chat_template` is a string or a list of
    /// {name, template} (the one named "default" is used); the special tokens are strings or
    /// {"content": ...} objects.
    public static func tokenizerConfig(_ data: Data, origin: String) throws -> PromptFormat {
        guard data.count <= 64 << 20 else { throw PromptFormatError("\(origin): over 64 MiB, not a tokenizer_config.json") }
        guard let object = try? JSONSerialization.jsonObject(with: data), let config = object as? [String: Any] else {
            throw PromptFormatError("\(origin) is neither a GGUF file nor a JSON object (a tokenizer_config.json)")
        }
        func token(_ key: String) throws -> String {
            switch config[key] {
            case nil, is NSNull: return ""
            case let s as String: return s
            case let d as [String: Any]:
                if let s = d["content"] as? String { return s }
                throw PromptFormatError("\(origin): \(key) has no string \"content\"")
            default: throw PromptFormatError("\(origin): \(key) is neither a string nor an object")
            }
        }
        var source: String?
        switch config["chat_template"] {
        case nil, is NSNull: source = nil
        case let s as String: source = s
        case let list as [Any]:
            let named = list.compactMap { $0 as? [String: Any] }
            source = (named.first { $0["name"] as? String == "default" } ?? named.first)?["template"] as? String
            if source == nil { throw PromptFormatError("\(origin): chat_template is a list without a template") }
        default: throw PromptFormatError("\(origin): chat_template is neither a string nor a list")
        }
        let bos = try token("bos_token"), eos = try token("eos_token")
        let builtIn = builtInFormat(template: source, architecture: "", hasLlama3Headers: bos == "<|begin_of_text|>")
        return PromptFormat(template: source, builtIn: builtIn, bosText: bos, eosText: eos, origin: origin)
    }

    /// The format named by the special tokens a template mentions, else the family's: Gemma's turns
    /// for gemma*, Llama 3's headers for a vocabulary that has them, ChatML otherwise.
    static func builtInFormat(template: String?, architecture: String, hasLlama3Headers: Bool) -> ChatFormat {
        if let template, let format = ChatFormat.detect(template: template) { return format }
        if architecture.hasPrefix("gemma") { return .gemma }
        if hasLlama3Headers { return .llama3 }
        return .chatML
    }

    /// The text of a chat prompt: the template applied to `messages` with the assistant turn opened,
    /// then `prefill` (the start of the assistant's reply, left open for the model to continue).
    /// With `addGenerationPrompt` false the text ends after the last message (no turn opened).
    public func render(_ messages: [ChatMessage], prefill: String = "", addGenerationPrompt: Bool = true) throws -> String {
        let rendered: String
        if let template {
            rendered = try template.render(messages: messages, addGenerationPrompt: addGenerationPrompt,
                                           bosToken: bosText, eosToken: eosText)
        } else {
            rendered = builtIn.render(messages: messages, addGenerationPrompt: addGenerationPrompt, bosToken: bosText)
        }
        return rendered + prefill
    }
}

public struct PromptFormatError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
