import ArgumentParser
import Foundation
import Model
import Techniques
import Workbench

/// What the model is asked: a chat turn (default) or raw text continued with no template.
struct InputOptions: ParsableArguments {
    @Option(help: "System prompt (chat; default: the template's own).") var system: String?
    @Option(help: "Start of the assistant's reply, which the model continues (chat).") var prefill: String = ""
    @Flag(help: "Continue the text raw, with no chat template (narrator mode).") var raw = false
    @Argument(help: "The user's message (or the raw text with --raw).") var text: [String] = []

    var input: GenerationInput {
        let t = readTextArgument(text)
        return raw ? .raw(t) : .chat(messages: [ChatMessage(role: "user", content: t)], system: system, prefill: prefill)
    }
}

extension SteeringSpec.Mode: ExpressibleByArgument {}

/// One sample of a set as the JSON output of `fuzz` and `persona` shows it.
struct SampleJSON: Encodable {
    let seed: UInt64
    let ids: [Int32]
    let text: String
    let matches: Bool
    let stop: String

    static func list(_ set: SampleSet) -> [SampleJSON] {
        set.samples.enumerated().map { i, r in
            SampleJSON(seed: r.settings.sampling.seed, ids: r.ids, text: r.text, matches: set.matching.contains(i), stop: r.stopReason.rawValue)
        }
    }
}

struct Steer: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate with SAE features pushed, beside the unsteered sample (same seed).")
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var inProcessOnly: InProcessOnly
    @OptionGroup var sampling: SamplingOptions
    @Option(help: "SAELens SAE directory.") var sae: String
    @Option(name: .customLong("feature"), help: "Feature index (repeatable).") var features: [Int]
    @Option(name: .customLong("strength"), help: "Strength per feature (repeatable; one value applies to all).") var strengths: [Float]
    @Option(help: "add: x += a*W_dec[f]; scale: f -> (1+a)*f keeping the reconstruction error.") var mode: SteeringSpec.Mode = .add
    @OptionGroup var inputOptions: InputOptions
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        guard !features.isEmpty else { throw ValidationError("give at least one --feature") }
        guard strengths.count == 1 || strengths.count == features.count else {
            throw ValidationError("give one --strength, or one per --feature")
        }
        let loaded = try modelOptions.load()
        let autoencoder = try SparseAutoencoder.load(directory: sae, expectedDIn: loaded.model.embeddingLength)
        let specs = features.enumerated().map { i, f in
            SteeringSpec(feature: f, strength: strengths.count == 1 ? strengths[0] : strengths[i], mode: mode)
        }
        let result = try Steering.compare(inputOptions.input, specs: specs, sae: autoencoder, settings: sampling.settings, model: loaded)
        if json {
            struct Side: Encodable { let ids: [Int32]; let text: String; let stop: String }
            struct Out: Encodable { let hook: String; let specs: [SteeringSpec]; let prompt: String; let steered: Side; let baseline: Side }
            func side(_ r: GenerationRecord) -> Side { Side(ids: r.ids, text: r.text, stop: r.stopReason.rawValue) }
            try printJSON(Out(hook: result.hook, specs: specs, prompt: result.steered.prompt,
                              steered: side(result.steered), baseline: side(result.baseline)))
        } else {
            printSafe("--- baseline\n\(result.baseline.text)\n--- steered (\(mode.rawValue) at \(result.hook))\n\(result.steered.text)\n")
        }
    }
}

struct Fuzz: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sample with Gaussian noise in one layer's activations; count samples matching a pattern.")
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var inProcessOnly: InProcessOnly
    @OptionGroup var sampling: SamplingOptions
    @Option(help: "Block index.") var layer: Int
    @Option(help: "resid_pre, resid_post, attn_out or mlp_out.") var hook: String = "resid_post"
    @Option(help: "Noise standard deviation as a fraction of each token's RMS activation.") var noise: Float = 0.1
    @Option(help: "Number of samples (seeds seed, seed+1, ...).") var samples: Int = 8
    @Option(help: "Count samples matching this case-insensitive regular expression.") var match: String?
    @OptionGroup var inputOptions: InputOptions
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        guard let point = HookPoint(name: "blocks.\(layer).hook_\(hook)") else {
            throw ValidationError("unknown hook '\(hook)': use resid_pre, resid_post, attn_out or mlp_out")
        }
        guard noise >= 0, noise.isFinite else { throw ValidationError("--noise must be >= 0") }
        guard samples >= 1 else { throw ValidationError("--samples must be >= 1") }
        if let match { _ = try MultiSample.compile(match) }
        let loaded = try modelOptions.load()
        let set = try Fuzzing.run(inputOptions.input, at: point, scale: noise, samples: samples, pattern: match,
                                  settings: sampling.settings, model: loaded) { i, record in
            if !json { printSafe("--- sample \(i + 1) (seed \(record.settings.sampling.seed))\n\(record.text)\n") }
            return true
        }
        if json {
            struct Out: Encodable { let hook: String; let noise: Float; let pattern: String?; let matches: Int; let total: Int; let samples: [SampleJSON] }
            let list = SampleJSON.list(set)
            try printJSON(Out(hook: point.name, noise: noise, pattern: match, matches: set.matching.count, total: set.samples.count, samples: list))
        } else if let summary = set.matchSummary {
            printSafe(summary + "\n")
        }
    }
}

extension PersonaMode: ExpressibleByArgument {}

struct PersonaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "persona",
        abstract: "Persona swap: the model writes the user's turn, continues narrator text, or samples from nothing.")
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var backendOptions: BackendOptions
    @OptionGroup var sampling: SamplingOptions
    @Option(help: "user: write the next user turn after the conversation; narrator: continue TEXT raw; empty: sample from an empty prompt.")
    var mode: PersonaMode = .user
    @Option(help: "System prompt (user mode).") var system: String?
    @Option(name: .customLong("user"), help: "A user turn of the conversation so far (user mode; repeatable, alternating with --assistant).")
    var userTurns: [String] = []
    @Option(name: .customLong("assistant"), help: "An assistant turn of the conversation so far (repeatable; the i-th follows the i-th --user).")
    var assistantTurns: [String] = []
    @Option(help: "Number of samples (seeds seed, seed+1, ...).") var samples: Int = 1
    @Option(help: "Count samples matching this case-insensitive regular expression.") var match: String?
    @Flag(help: "Print JSON.") var json = false
    @Argument(help: "narrator: the text to continue; user: the start of the user's turn (optional).") var text: [String] = []

    func run() throws {
        guard samples >= 1 else { throw ValidationError("--samples must be >= 1") }
        if let match { _ = try MultiSample.compile(match) }
        guard assistantTurns.count <= userTurns.count else { throw ValidationError("give a --user turn before each --assistant turn") }
        var conversation: [ChatMessage] = []
        for (i, u) in userTurns.enumerated() {
            conversation.append(ChatMessage(role: "user", content: u))
            if i < assistantTurns.count { conversation.append(ChatMessage(role: "assistant", content: assistantTurns[i])) }
        }
        let engine = try backendOptions.engine(modelOptions)
        let t = readTextArgument(text)
        let set = try MultiSample.run(count: samples, settings: sampling.settings, pattern: match, concurrency: engine.concurrency, one: { s in
            try Persona.run(mode, conversation: conversation, system: system, text: t, settings: s, engine: engine)
        }, onSample: { i, record in
            if !json { printSafe((samples > 1 ? "--- sample \(i + 1) (seed \(record.settings.sampling.seed))\n" : "") + record.text + "\n") }
            return true
        })
        if json {
            struct Out: Encodable { let mode: String; let prompt: String; let pattern: String?; let matches: Int; let total: Int; let samples: [SampleJSON] }
            let list = SampleJSON.list(set)
            try printJSON(Out(mode: mode.rawValue, prompt: set.samples.first?.prompt ?? "", pattern: match,
                              matches: set.matching.count, total: set.samples.count, samples: list))
        } else if let summary = set.matchSummary {
            printSafe(summary + "\n")
        }
    }
}
