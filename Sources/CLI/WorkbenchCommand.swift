import ArgumentParser
import CSignals
import Foundation
import TUI
import Model
import Techniques
import Workbench

@main
struct WorkbenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workbench",
        abstract: "An alignment-auditing workbench: run a language model in-process and probe it for hidden objectives.",
        subcommands: [TUICommand.self, Interactive.self, Tokenize.self, Logits.self, Complete.self, Chat.self, Activations.self, Features.self, Steer.self, Fuzz.self, PersonaCommand.self, Bench.self, Models.self, SAE.self, NotebookCommand.self, Keys.self, DataCommand.self, GameCommand.self, OrganismCommand.self, MCPCommand.self],
        defaultSubcommand: TUICommand.self
    )

    /// Like ArgumentParser's `main`, but every message goes through the sanitizer: errors quote
    /// file metadata (key and tensor names), which must not reach the terminal raw.
    static func main() {
        // A fatal signal prints one line (and gives the terminal back) instead of a backtracer prompt.
        cs_install_fatal_handlers()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            let message = TerminalText.sanitize(fullMessage(for: error))
            if !message.isEmpty {
                let handle = code == .success ? FileHandle.standardOutput : FileHandle.standardError
                handle.write(Data((message + "\n").utf8))
            }
            Foundation.exit(code.rawValue)
        }
    }
}

/// Options every model command takes.
struct ModelOptions: ParsableArguments {
    @Option(help: "Path to a GGUF model (default: $WORKBENCH_MODEL or models/\(ModelCatalog.defaultModelFile)).")
    var model: String = ModelCatalog.defaultModelPath

    @Option(help: "Worker threads.")
    var threads: Int = LoadedModel.defaultThreads

    @Option(help: "Context length in tokens (default: the model's).")
    var context: Int?

    @Option(help: "PEFT LoRA adapter directory (adapter_config.json + adapter_model.safetensors), applied at run time.")
    var lora: String?

    func load() throws -> LoadedModel {
        guard FileManager.default.fileExists(atPath: model) else {
            throw ValidationError("no model at \(model): run `make models` or pass --model PATH")
        }
        guard threads >= 1 && threads <= 256 else { throw ValidationError("--threads must be 1...256") }
        let loaded = try LoadedModel(path: model, threads: threads, adapter: lora)
        if context == nil, let note = loaded.contextNote { FileHandle.standardError.write(Data(("note: " + note + "\n").utf8)) }
        return loaded
    }
}

struct SamplingOptions: ParsableArguments {
    @Option(name: .customLong("max-tokens"), help: "Most tokens to generate.")
    var maxTokens: Int = 256
    @Option(help: "Temperature; 0 is greedy.")
    var temperature: Float = 0.8
    @Option(name: .customLong("top-k"), help: "Keep the k most likely tokens (0 = off).")
    var topK: Int = 40
    @Option(name: .customLong("top-p"), help: "Nucleus: keep the smallest set with this much probability (1 = off).")
    var topP: Float = 0.95
    @Option(name: .customLong("min-p"), help: "Drop tokens below this fraction of the top probability (0 = off).")
    var minP: Float = 0.05
    @Option(name: .customLong("repeat-penalty"), help: "Repetition penalty over the last 64 tokens (1 = off).")
    var repeatPenalty: Float = 1.0
    @Option(help: "Random seed; the same seed gives the same sample.")
    var seed: UInt64 = 0

    var settings: GenerationSettings {
        GenerationSettings(sampling: SamplingParameters(temperature: temperature, topK: topK, topP: topP, minP: minP,
                                                        repetitionPenalty: repeatPenalty, seed: seed),
                           maxTokens: maxTokens)
    }

    func validate() throws {
        guard maxTokens >= 0 else { throw ValidationError("--max-tokens must be >= 0") }
        guard temperature >= 0, temperature.isFinite else { throw ValidationError("--temperature must be >= 0") }
        guard topP > 0 && topP <= 1 else { throw ValidationError("--top-p must be in (0, 1]") }
        guard minP >= 0 && minP < 1 else { throw ValidationError("--min-p must be in [0, 1)") }
        guard repeatPenalty > 0 else { throw ValidationError("--repeat-penalty must be > 0") }
    }
}

/// Writes one JSON object to stdout.
/// JSON on stdout: text verbatim, but C1 controls, DEL and bidi/line-separator code points as
/// `\uXXXX` escapes (JSONEncoder escapes only C0), so the bytes are terminal-safe and lossless.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
    var data = TerminalText.escapingInvisibleControls(inJSON: try encoder.encode(value))
    data.append(0x0A)
    FileHandle.standardOutput.write(data)
}

/// Writes untrusted text to stdout through the sanitizer, unbuffered so streaming shows.
func printSafe(_ text: String, terminator: String = "") {
    FileHandle.standardOutput.write(Data((TerminalText.sanitize(text) + terminator).utf8))
}

func readTextArgument(_ parts: [String]) -> String { parts.joined(separator: " ") }

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Token ids of TEXT (special tokens parsed; BOS as the model says).")
    @OptionGroup var modelOptions: ModelOptions
    @Flag(help: "Print JSON.") var json = false
    @Flag(name: .customLong("no-special"), help: "Treat special-token text as plain text.") var noSpecial = false
    @Argument(help: "The text.") var text: [String] = []

    func run() throws {
        let file = try GGUFFile(path: modelOptions.model)
        let tokenizer = try Tokenizer(gguf: file)
        let ids = tokenizer.encode(readTextArgument(text), parseSpecial: !noSpecial)
        if json {
            struct Out: Encodable { let ids: [Int32] }
            try printJSON(Out(ids: ids))
        } else {
            for id in ids {
                let piece = String(decoding: tokenizer.piece(id), as: UTF8.self)
                printSafe("\(id)\t\(piece.debugDescription)", terminator: "\n")
            }
        }
    }
}

struct Logits: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The most likely next tokens after TEXT (raw text, no template).")
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var inProcessOnly: InProcessOnly
    @Option(help: "How many.") var top: Int = 10
    @Option(help: ArgumentHelp("Token ids to read instead of TEXT (comma-separated), exactly as given.", valueName: "ID,ID,..."))
    var ids: String?
    @Flag(help: "Print JSON.") var json = false
    @Option(name: .customLong("decode-from"), help: "Evaluate the first N ids in one batch, then the rest one token per forward pass (the generation path).")
    var decodeFrom: Int?
    @Option(help: "Write logits to this file (float32, little-endian, one row of vocabulary size per position): without --decode-from every position, each as the last row of a batch of the ids up to it; with it the prompt's last position and each decoded one.")
    var dump: String?
    @Argument(help: "The text.") var text: [String] = []

    func run() throws {
        let loaded = try modelOptions.load()
        var ids = loaded.tokenizer.encodePrompt(readTextArgument(text))
        if let list = self.ids {
            ids = try list.split(separator: ",").map { part in
                guard let id = TokenID(part.trimmingCharacters(in: .whitespaces)), id >= 0, Int(id) < loaded.model.vocabularySize else {
                    throw ValidationError("--ids: '\(UntrustedText.excerpt(part, limit: 40))' is not a token id of this model (0..<\(loaded.model.vocabularySize))")
                }
                return id
            }
            guard !ids.isEmpty else { throw ValidationError("--ids is empty") }
        }
        let generator = Generator(model: loaded, contextLength: modelOptions.context)
        var logits: UnsafeBufferPointer<Float>
        var rows: [[Float]] = []
        if let n = decodeFrom {
            guard n >= 1 && n <= ids.count else { throw ValidationError("--decode-from must be 1...\(ids.count)") }
            let model = loaded.model, cache = model.makeCache(capacity: max(ids.count, 16))
            logits = try model.forward(Array(ids[..<n]), cache: cache)
            rows.append(Array(logits))
            for id in ids[n...] {
                logits = try model.forward([id], cache: cache)
                rows.append(Array(logits))
            }
        } else if dump != nil {
            let model = loaded.model
            for p in 0..<ids.count {
                let cache = model.makeCache(capacity: max(ids.count, 16))
                rows.append(Array(try model.forward(Array(ids[...p]), cache: cache)))
            }
            logits = try generator.evaluate(ids)
        } else {
            logits = try generator.evaluate(ids)
        }
        if let path = dump {
            let flat = rows.flatMap { $0 }
            try flat.withUnsafeBufferPointer { Data(buffer: $0) }.write(to: URL(fileURLWithPath: path))
        }
        let k = max(1, min(top, logits.count))
        let order = (0..<logits.count).sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }.prefix(k)
        struct Entry: Encodable { let id: Int; let logit: Float; let text: String }
        let entries = order.map { Entry(id: $0, logit: logits[$0], text: String(decoding: loaded.tokenizer.piece(TokenID($0)), as: UTF8.self)) }
        if json {
            struct Out: Encodable { let top: [Entry] }
            try printJSON(Out(top: entries))
        } else {
            for e in entries { printSafe(String(format: "%6d  %9.4f  ", e.id, e.logit) + e.text.debugDescription, terminator: "\n") }
        }
    }
}

struct Complete: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Continue TEXT with no template; stops at end-of-generation tokens.")
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var backendOptions: BackendOptions
    @OptionGroup var sampling: SamplingOptions
    @Flag(help: "Print JSON.") var json = false
    @Argument(help: "The text (empty: sample from the model's prior).") var text: [String] = []

    func run() throws {
        let engine = try backendOptions.engine(modelOptions)
        let record = try RawCompletion.run(readTextArgument(text), settings: sampling.settings, engine: engine) { piece in
            if !json { printSafe(piece) }
            return true
        }
        if json {
            struct Out: Encodable { let ids: [Int32]; let text: String; let stop: String; let engine: EngineIdentity? }
            try printJSON(Out(ids: record.ids, text: record.text, stop: record.stopReason.rawValue, engine: record.engine))
        } else {
            printSafe("", terminator: "\n")
        }
    }
}

struct Chat: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "One chat turn through the model's chat template.")
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var backendOptions: BackendOptions
    @OptionGroup var sampling: SamplingOptions
    @Option(help: "System prompt (default: the template's own).") var system: String?
    @Option(help: "Start of the assistant's reply, which the model continues.") var prefill: String = ""
    @Option(help: "Sample the reply N times (seeds seed, seed+1, ...); JSON then lists every sample.") var samples: Int = 1
    @OptionGroup var matching: MatchOptions
    @Option(name: .customLong("user"), help: "An earlier user turn (repeatable, alternating with --assistant); MESSAGE follows them.")
    var userTurns: [String] = []
    @Option(name: .customLong("assistant"), help: "An earlier assistant turn (repeatable; the i-th answers the i-th --user).")
    var assistantTurns: [String] = []
    @Flag(help: "Print JSON.") var json = false
    @Argument(help: "The user's message.") var message: [String] = []

    /// The earlier turns, then MESSAGE.
    var messages: [ChatMessage] {
        var out: [ChatMessage] = []
        for (i, u) in userTurns.enumerated() {
            out.append(ChatMessage(role: "user", content: u))
            if i < assistantTurns.count { out.append(ChatMessage(role: "assistant", content: assistantTurns[i])) }
        }
        return out + [ChatMessage(role: "user", content: readTextArgument(message))]
    }

    func run() throws {
        guard samples >= 1 else { throw ValidationError("--samples must be >= 1") }
        guard assistantTurns.count == userTurns.count else { throw ValidationError("give an --assistant turn after each --user turn") }
        let engine = try backendOptions.engine(modelOptions)
        if matching.wantsSet(samples: samples) {
            try runSamples(engine)
            return
        }
        if !json && !prefill.isEmpty { printSafe(prefill) }
        let record = try ChatTurn.run(messages: messages, system: system, prefill: prefill, settings: sampling.settings, engine: engine) { piece in
            if !json { printSafe(piece) }
            return true
        }
        if json {
            struct Out: Encodable {
                let prompt: String; let prompt_ids: [Int32]; let ids: [Int32]; let text: String; let stop: String; let engine: EngineIdentity?
            }
            try printJSON(Out(prompt: record.prompt, prompt_ids: record.promptIDs, ids: record.ids, text: record.text,
                              stop: record.stopReason.rawValue, engine: record.engine))
        } else {
            printSafe("", terminator: "\n")
        }
    }

    /// The same reply sampled N times, with the pattern's count: rare behaviours become rates.
    func runSamples(_ engine: any TextEngine) throws {
        let messages = self.messages
        if matching.compareBase {
            let c = try BaseComparison.run(count: samples, settings: sampling.settings, pattern: matching.pattern, caseSensitive: matching.caseSensitive,
                                           engine: engine, one: { s, e in
                try ChatTurn.run(messages: messages, system: system, prefill: prefill, settings: s, engine: e)
            }, onSample: { base, i, record in
                if !json { printSample(i, record, base: base, prefix: prefill) }
                return true
            })
            if json {
                struct Out: Encodable { let prefill: String; let comparison: ComparisonJSON }
                try printJSON(Out(prefill: prefill, comparison: ComparisonJSON(c)))
            } else {
                printSafe(c.summary + "\n")
            }
            return
        }
        let match = matching.pattern
        let set = try MultiSample.run(count: samples, settings: sampling.settings, pattern: match, caseSensitive: matching.caseSensitive,
                                      concurrency: engine.concurrency, one: { s in
            try ChatTurn.run(messages: messages, system: system, prefill: prefill, settings: s, engine: engine)
        }, onSample: { i, record in
            if !json { printSample(i, record, base: nil, prefix: prefill) }
            return true
        })
        if json {
            struct Out: Encodable {
                let prompt: String; let prefill: String; let pattern: String?; let case_sensitive: Bool; let matches: Int; let total: Int; let samples: [SampleJSON]
            }
            try printJSON(Out(prompt: set.samples.first?.prompt ?? "", prefill: prefill, pattern: match, case_sensitive: matching.caseSensitive,
                              matches: set.matching.count, total: set.samples.count, samples: SampleJSON.list(set)))
        } else if let summary = set.matchSummary {
            printSafe(summary + "\n")
        }
    }
}

/// The workbench's keys as a Markdown table, made from the panes' bindings (the README carries it).
struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print every key of the TUI as a Markdown table (from the panes' bindings; the README's table is this output).")
    @Option(name: .customLong("update-readme"), help: "Write the table into this README between its key-table markers instead of printing it.")
    var readme: String?

    func run() throws {
        guard let readme else { return print(KeyTable.markdown, terminator: "") }
        let text = try String(contentsOfFile: readme, encoding: .utf8)
        guard let updated = KeyTable.replace(in: text) else {
            throw ValidationError("\(readme) has no key-table markers (\(KeyTable.beginMarker) ... \(KeyTable.endMarker))")
        }
        try updated.write(toFile: readme, atomically: true, encoding: .utf8)
    }
}

struct Models: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the installed models (or the given files): architecture, tensor types, and what the engine cannot run.")
    @Flag(help: "Print JSON.") var json = false
    @Argument(help: "GGUF files to describe instead of the models folder.") var files: [String] = []

    func run() throws {
        let entries = files.isEmpty ? ModelCatalog.installed() : files.map(ModelCatalog.describe)
        if json {
            struct Out: Encodable { let directory: String; let models: [ModelCatalog.Entry] }
            try printJSON(Out(directory: ModelCatalog.modelsDirectory.path, models: entries))
            return
        }
        printSafe("models in \(ModelCatalog.modelsDirectory.path)", terminator: "\n")
        if entries.isEmpty { printSafe("  (none: run `make models`)", terminator: "\n") }
        for e in entries {
            let size = String(format: "%.1f MiB", Double(e.sizeBytes) / 1_048_576)
            let status = e.error.map { "UNREADABLE: \($0)" } ?? "\(e.architecture), \(e.tensors) tensors"
            printSafe("\(e.isDefault ? "*" : " ") \(e.name)  [\(size), \(status)]\n    \(e.path)", terminator: "\n")
            if let s = e.support {
                printSafe("    types: \(s.typeSummary); tokenizer: \(s.tokenizer)", terminator: "\n")
                printSafe(s.isSupported ? "    runs here" : "    cannot run here: \(s.problems.joined(separator: "; "))", terminator: "\n")
            }
        }
    }
}

struct Activations: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Activations at a hook point while the model reads TEXT (raw text, no template).")
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var inProcessOnly: InProcessOnly
    @Option(help: "Block index.") var layer: Int
    @Option(help: "Hook: resid_pre, resid_post, attn_out, mlp_out, or a full name such as blocks.L.hook_resid_post.")
    var hook: String = "resid_post"
    @Option(help: "last, mean, or none (one vector per token).") var reduce: ActivationReduction = .last
    @Flag(help: "Print JSON.") var json = false
    @Argument(help: "The text.") var text: [String] = []

    func run() throws {
        let name = hook.hasPrefix("blocks.") ? hook : "blocks.\(layer).hook_\(hook)"
        guard let point = HookPoint(name: name) else {
            throw ValidationError("unknown hook '\(hook)': use resid_pre, resid_post, attn_out or mlp_out")
        }
        guard point.layer == layer else { throw ValidationError("--hook \(hook) names block \(point.layer) but --layer is \(layer)") }
        let loaded = try modelOptions.load()
        let reading = try ActivationCapture.read(readTextArgument(text), at: point, model: loaded)
        if json {
            if let vector = reading.reduced(reduce) {
                struct Out: Encodable { let hook: String; let tokens: [Int32]; let values: [Float] }
                try printJSON(Out(hook: point.name, tokens: reading.tokens, values: vector))
            } else {
                struct Out: Encodable { let hook: String; let tokens: [Int32]; let values: [[Float]] }
                try printJSON(Out(hook: point.name, tokens: reading.tokens, values: reading.perToken))
            }
            return
        }
        let rows = reading.reduced(reduce).map { [$0] } ?? reading.perToken
        for (i, row) in rows.enumerated() {
            let norm = row.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
            let head = row.prefix(8).map { String(format: "%.4f", $0) }.joined(separator: " ")
            let label = reduce == .none ? "token \(i) (\(reading.tokens[i]))" : reduce.rawValue
            print("\(point.name) \(label): |x| = \(String(format: "%.3f", norm)), first values: \(head) ...")
        }
    }
}

extension ActivationReduction: ExpressibleByArgument {}
