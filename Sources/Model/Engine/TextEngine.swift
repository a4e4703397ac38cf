import Foundation

/// Who answers a prompt: the model in this process, or a model on a serving engine.
public struct EngineIdentity: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable { case inProcess = "in-process", remote }
    public var kind: Kind
    /// The model's name (a file name here, the served model's name there); untrusted text.
    public var model: String
    /// The server's base URL, without credentials (nil in-process).
    public var url: String?

    public init(kind: Kind, model: String, url: String? = nil) {
        self.kind = kind
        self.model = model
        self.url = url
    }

    /// "host:port model" for the status bar, or the model alone in-process.
    public var label: String {
        guard let url, let parsed = URLComponents(string: url), let host = parsed.host else { return model }
        return "\(host)\(parsed.port.map { ":\($0)" } ?? "") \(model)"
    }
}

/// Lets one party stop a completion another runs: the flag is polled between tokens, and
/// handlers (a remote engine closing its connection) run at once when it is set.
public final class CancellationFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false
    private var handlers: [Int: @Sendable () -> Void] = [:]
    private var nextHandler = 0

    public init() {}

    public var isCancelled: Bool {
        lock.lock(); defer { lock.unlock() }
        return cancelled
    }

    public func cancel() {
        lock.lock()
        cancelled = true
        let run = handlers.values
        handlers.removeAll()
        lock.unlock()
        for h in run { h() }
    }

    /// Runs `handler` on cancel (at once if already cancelled); returns a key for `remove`.
    @discardableResult
    public func onCancel(_ handler: @escaping @Sendable () -> Void) -> Int {
        lock.lock()
        if cancelled {
            lock.unlock()
            handler()
            return -1
        }
        nextHandler += 1
        let key = nextHandler
        handlers[key] = handler
        lock.unlock()
        return key
    }

    public func remove(_ key: Int) {
        lock.lock(); handlers[key] = nil; lock.unlock()
    }
}

/// What a completion produced.
public struct Completion: Sendable, Equatable {
    /// The prompt's token ids where the engine knows them (in-process, or a remote engine whose
    /// template file carries the tokenizer); empty otherwise.
    public var promptIDs: [TokenID] = []
    /// The generated ids where the engine knows them; empty from a remote engine.
    public var ids: [TokenID] = []
    public var text = ""
    public var stopReason: StopReason = .maxTokens
    /// Tokens generated (ids.count in-process; the server's count remotely).
    public var tokens = 0

    public init() {}
}

/// A text engine: renders chats through the model's prompt format and completes prompts with
/// sampling settings, streaming the text. The in-process engine and a serving engine's client
/// both implement it; every black-box technique takes one.
public protocol TextEngine: AnyObject, Sendable {
    var identity: EngineIdentity { get }
    /// The chat template (or built-in format) and special-token text prompts are rendered with.
    var format: PromptFormat { get }
    /// The longest prompt plus reply, in tokens, when known (0: the server decides).
    var contextLimit: Int { get }
    /// How many completions may run at once (1 in-process: one forward pass; more for a server).
    var concurrency: Int { get }
    /// Continues `prompt` (text, special tokens parsed; "" samples from the model's prior) for at
    /// most `maxTokens`, stopping at the model's end-of-generation tokens. `onText` gets each piece
    /// as it arrives; returning false stops with `.cancelled`, as does `cancel` being set.
    func complete(_ prompt: String, parameters: SamplingParameters, maxTokens: Int,
                  cancel: CancellationFlag?, onText: (String) -> Bool) throws -> Completion
    /// An engine over the same model with its own state (an in-process KV cache), for a caller
    /// that keeps its own history (a pane) or runs on another thread.
    func fork() -> any TextEngine
    /// The same model without its adapter (the base), with state of its own, for running a probe
    /// on both ("organism 7/8 vs base 0/8"); nil when there is no adapter or no base to reach.
    func baseEngine() -> (any TextEngine)?
}

extension TextEngine {
    public func chatPrompt(_ messages: [ChatMessage], prefill: String = "", addGenerationPrompt: Bool = true) throws -> String {
        try format.render(messages, prefill: prefill, addGenerationPrompt: addGenerationPrompt)
    }

    public func complete(_ prompt: String, parameters: SamplingParameters, maxTokens: Int,
                         onText: (String) -> Bool = { _ in true }) throws -> Completion {
        try complete(prompt, parameters: parameters, maxTokens: maxTokens, cancel: nil, onText: onText)
    }
}

/// The in-process engine: the loaded model, one KV cache (a Generator), so a prompt that extends
/// the last one only evaluates the rest. White-box techniques reach the model through `loaded`.
public final class InProcessEngine: TextEngine, @unchecked Sendable {
    public let generator: Generator
    public var loaded: LoadedModel { generator.loaded }
    public let identity: EngineIdentity

    public init(generator: Generator) {
        self.generator = generator
        identity = EngineIdentity(kind: .inProcess, model: URL(fileURLWithPath: generator.loaded.path).lastPathComponent)
    }

    /// `hooks` run in every forward pass of this engine (its own: the model is not changed).
    public convenience init(model: LoadedModel, contextLength: Int? = nil, hooks: ActivationHooks? = nil) {
        self.init(generator: Generator(model: model, contextLength: contextLength, hooks: hooks))
    }

    public var format: PromptFormat { loaded.format }
    public var contextLimit: Int { generator.contextLength }
    public var concurrency: Int { 1 }

    public func fork() -> any TextEngine { InProcessEngine(model: loaded, contextLength: generator.contextLength, hooks: generator.hooks) }

    public func baseEngine() -> (any TextEngine)? {
        loaded.adapter == nil ? nil : BaseModelEngine(fork() as! InProcessEngine)
    }

    public func complete(_ prompt: String, parameters: SamplingParameters, maxTokens: Int,
                         cancel: CancellationFlag?, onText: (String) -> Bool) throws -> Completion {
        let tokenizer = loaded.tokenizer
        var ids = tokenizer.encodePrompt(prompt)
        if ids.isEmpty {
            // An empty prompt samples from the model's prior: start from BOS (or EOS, the usual
            // document separator of models without one), as llama.cpp's server does.
            guard let start = tokenizer.bosID ?? tokenizer.eosID else { throw EngineError.emptyInput }
            ids = [start]
        }
        let g = try generator.generate(prompt: ids, parameters: parameters, maxTokens: maxTokens) { _, piece in
            onText(piece) && !(cancel?.isCancelled ?? false)
        }
        var out = Completion()
        out.promptIDs = ids
        out.ids = g.ids
        out.text = g.text
        out.stopReason = g.stopReason
        out.tokens = g.ids.count
        return out
    }
}

/// The in-process model with its adapter off: the base model on the same weights, with a KV cache
/// of its own (never one computed with the adapter). Each completion turns the adapter off and
/// back on around it, so the organism's engines are unchanged between calls.
public final class BaseModelEngine: TextEngine, @unchecked Sendable {
    let inner: InProcessEngine
    public let identity: EngineIdentity

    init(_ inner: InProcessEngine) {
        self.inner = inner
        identity = EngineIdentity(kind: .inProcess, model: inner.identity.model + " (adapter off)")
    }

    /// The base model's own KV cache.
    public var generator: Generator { inner.generator }
    public var format: PromptFormat { inner.format }
    public var contextLimit: Int { inner.contextLimit }
    public var concurrency: Int { 1 }

    public func complete(_ prompt: String, parameters: SamplingParameters, maxTokens: Int,
                         cancel: CancellationFlag?, onText: (String) -> Bool) throws -> Completion {
        try inner.loaded.withoutAdapter {
            try inner.complete(prompt, parameters: parameters, maxTokens: maxTokens, cancel: cancel, onText: onText)
        }
    }

    public func fork() -> any TextEngine { BaseModelEngine(inner.fork() as! InProcessEngine) }
    public func baseEngine() -> (any TextEngine)? { nil }
}
