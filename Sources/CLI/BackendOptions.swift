import ArgumentParser
import Foundation
import Model
import Serving
import Workbench

/// Options of the black-box commands for running on a serving engine instead of in-process.
struct BackendOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Run on an OpenAI-compatible server (vLLM, llama.cpp's server) at this base URL instead of in-process.",
                               valueName: "URL"))
    var backend: String?

    @Option(name: .customLong("served-model"), help: "The server's model name, as in GET /v1/models (default: the first listed).")
    var servedModel: String?

    @Option(name: .customLong("base-served-model"), help: "With --backend: the server's name of the base model, for --compare-base and the organism eval (--served-model names the organism).")
    var baseServedModel: String?

    @Option(name: .customLong("api-key-env"), help: ArgumentHelp("Read the server's API key from this environment variable (never given on the command line).", valueName: "VAR"))
    var apiKeyEnv: String?

    @Option(help: ArgumentHelp("With --backend: the served model's GGUF or Hugging Face tokenizer_config.json, whose chat template and special tokens render prompts here.",
                               valueName: "FILE"))
    var template: String?

    @Option(name: .customLong("backend-timeout"), help: "Seconds to wait for the server's first byte, and between bytes of a reply.")
    var backendTimeout: Double = 120

    @Option(name: .customLong("backend-concurrency"), help: "Requests in flight at once for N samples.")
    var backendConcurrency: Int = 8

    func validate() throws {
        if backend == nil {
            for (flag, given) in [("--served-model", servedModel != nil), ("--base-served-model", baseServedModel != nil),
                                  ("--api-key-env", apiKeyEnv != nil), ("--template", template != nil)] where given {
                throw ValidationError("\(flag) needs --backend URL")
            }
            return
        }
        guard template != nil else {
            throw ValidationError("--backend needs --template FILE: the served model's GGUF or tokenizer_config.json, so prompts are rendered here with its own chat template")
        }
        guard backendTimeout > 0, backendTimeout.isFinite else { throw ValidationError("--backend-timeout must be > 0") }
        guard (1...256).contains(backendConcurrency) else { throw ValidationError("--backend-concurrency must be 1...256") }
    }

    var isRemote: Bool { backend != nil }

    /// The remote engine these options describe (nil without --backend).
    func remoteEngine() throws -> RemoteEngine? {
        guard let backend, let template else { return nil }
        var key: String?
        if let apiKeyEnv {
            guard let value = ProcessInfo.processInfo.environment[apiKeyEnv], !value.isEmpty else {
                throw ValidationError("--api-key-env \(apiKeyEnv): the variable is not set")
            }
            key = value
        }
        let format = try PromptFormat.load(path: template)
        // A GGUF template file also gives the tokenizer: prompts then go as token ids.
        var tokenizer: Tokenizer?
        if (try? FileHandle(forReadingFrom: URL(fileURLWithPath: template)).read(upToCount: 4)) == Data("GGUF".utf8) {
            tokenizer = try Tokenizer(gguf: GGUFFile(path: template))
        }
        var options = RemoteOptions()
        options.timeouts.response = backendTimeout
        options.concurrency = backendConcurrency
        let engine = try RemoteEngine(url: backend, servedModel: servedModel, apiKey: key, format: format, tokenizer: tokenizer, options: options)
        if let baseServedModel {
            engine.base = try RemoteEngine(url: backend, servedModel: baseServedModel, apiKey: key, format: format, tokenizer: tokenizer, options: options)
        }
        if let problem = format.templateProblem { FileHandle.standardError.write(Data(TerminalText.sanitize("note: \(template): \(problem)\n").utf8)) }
        return engine
    }

    /// The engine a black-box command runs on: the server with --backend, else the model in-process.
    func engine(_ modelOptions: ModelOptions) throws -> any TextEngine {
        if let remote = try remoteEngine() {
            guard modelOptions.lora == nil else {
                throw ValidationError("--lora applies in-process; on a server the adapter is served by it (vLLM --lora-modules NAME=PATH): pass --served-model NAME")
            }
            return remote
        }
        return InProcessEngine(model: try modelOptions.load(), contextLength: modelOptions.context)
    }
}

/// On the white-box commands: --backend is taken only to say plainly that they need the model in
/// this process (rather than "unknown option").
struct InProcessOnly: ParsableArguments {
    @Option(help: .hidden) var backend: String?
    @Option(name: .customLong("served-model"), help: .hidden) var servedModel: String?

    func validate() throws {
        if backend != nil || servedModel != nil {
            throw ValidationError("this command reads or edits activations inside the model, so it needs the in-process engine: drop --backend and pass --model FILE.gguf (a server gives only text)")
        }
    }
}
