import Foundation

/// A model file opened for use: the mapped GGUF, its tokenizer, chat template and forward pass.
public final class LoadedModel: @unchecked Sendable {
    public let path: String
    public let file: GGUFFile
    public let tokenizer: Tokenizer
    public let model: any LanguageModel
    public let pool: WorkerPool
    /// The chat template (or built-in format) and BOS/EOS text of the file.
    public let format: PromptFormat
    /// The model's own `tokenizer.chat_template`, parsed; nil when absent or beyond the interpreter.
    public var chatTemplate: ChatTemplate? { format.template }
    /// Why the template could not be used, when it could not.
    public var chatTemplateProblem: String? { format.templateProblem }
    /// The prompt format used when the file's own template is missing or beyond the interpreter.
    public var builtInFormat: ChatFormat { format.builtIn }

    /// `general.name` from the file (untrusted text: sanitise before display).
    public var name: String { file.metadata["general.name"]?.string ?? URL(fileURLWithPath: path).lastPathComponent }

    public static var defaultThreads: Int { max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8)) }

    /// The LoRA adapter the forward pass applies, if one was given.
    public var adapter: LoRAAdapter? { model.adapter }
    /// Runs `body` with the adapter off (the base model), then puts the adapter back: how a
    /// technique compares the organism with its base on the same weights, without loading them
    /// twice. Without an adapter it just runs `body`. The caller keeps KV caches apart: keys and
    /// values computed with the adapter are not the base model's.
    ///
    /// The adapter is off for every user of this model while `body` runs: callers run model work on
    /// one queue (the workbench's runner does), never beside another forward pass.
    public func withoutAdapter<T>(_ body: () throws -> T) throws -> T {
        guard let adapter = model.adapter else { return try body() }
        try model.setAdapter(nil)
        let result: Result<T, Error> = Result { try body() }
        // Putting it back re-applies the same adapter to the same model, which fit a moment ago;
        // should it fail all the same, say so rather than go on as the base model.
        do { try model.setAdapter(adapter) } catch { throw LoRAError("the adapter could not be put back after a base-model run: \(error)") }
        return try result.get()
    }

    /// The adapter's directory name, for the status bar (untrusted: sanitise before display).
    public var adapterName: String? { model.adapter?.name }

    /// Opens the model at `path`; `adapter` is a PEFT LoRA directory applied at run time.
    public init(path: String, threads: Int = LoadedModel.defaultThreads, adapter adapterDirectory: String? = nil) throws {
        self.path = path
        file = try GGUFFile(path: path)
        tokenizer = try Tokenizer(gguf: file)
        pool = WorkerPool(threads: threads)
        model = try ArchitectureRegistry.load(file, pool: pool)
        guard tokenizer.vocabularySize == model.vocabularySize else {
            throw GGUFError(.badTokenizer, "the tokenizer has \(tokenizer.vocabularySize) tokens but the model \(model.vocabularySize)")
        }
        if let adapterDirectory {
            try model.setAdapter(LoRAAdapter(directory: adapterDirectory))
        }
        format = PromptFormat(gguf: file, tokenizer: tokenizer, architecture: model.architecture, origin: "the file")
    }

    /// The context a Generator gets by default: the trained context, capped so that the KV cache
    /// fits in a quarter of physical memory (a file may claim any context_length).
    public var defaultContext: Int { LoadedModel.contextLimit(model) }

    /// Why the default context is shorter than the trained one, when it is.
    public var contextNote: String? {
        let n = defaultContext
        guard n < model.trainedContextLength else { return nil }
        let gib = Double(model.cacheBytes(capacity: model.trainedContextLength)) / Double(1 << 30)
        return "context capped to \(n) tokens: \(model.architecture).context_length is \(model.trainedContextLength), whose KV cache would need "
            + String(format: "%.1f GiB", gib) + "; choose another with --context"
    }

    /// The cache budget: a quarter of physical memory, at least 256 MiB.
    public static var cacheBudget: Int { max(256 << 20, Int(min(ProcessInfo.processInfo.physicalMemory / 4, UInt64(Int.max)))) }

    public static func contextLimit(_ model: any LanguageModel, budget: Int = cacheBudget) -> Int {
        var n = model.trainedContextLength
        while n > 256 && model.cacheBytes(capacity: n) > budget { n /= 2 }
        return n
    }

    /// The text of a chat prompt: the template applied to `messages` with the assistant turn opened,
    /// then `prefill` (the start of the assistant's reply, left open for the model to continue).
    /// With `addGenerationPrompt` false the text ends after the last message (no turn opened).
    public func chatPrompt(_ messages: [ChatMessage], prefill: String = "", addGenerationPrompt: Bool = true) throws -> String {
        try format.render(messages, prefill: prefill, addGenerationPrompt: addGenerationPrompt)
    }
}
