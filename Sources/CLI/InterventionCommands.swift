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

/// How samples are counted and compared: a pattern (case-insensitive, or case-sensitive with
/// --match-case) and, with --compare-base, the same input and seeds with the adapter off.
struct MatchOptions: ParsableArguments {
    @Option(help: "Count samples matching this case-insensitive regular expression.") var match: String?
    @Option(name: .customLong("match-case"), help: "Count samples matching this case-sensitive regular expression (instead of --match).")
    var matchCase: String?
    @Flag(name: .customLong("compare-base"), help: "Run the same input and seeds on the base model too (the adapter off; on a server, --base-served-model) and give both counts: organism 7/8 vs base 0/8.")
    var compareBase = false

    func validate() throws {
        if match != nil && matchCase != nil { throw ValidationError("give --match or --match-case, not both") }
        if let pattern { _ = try MultiSample.compile(pattern, caseSensitive: caseSensitive) }
    }

    var pattern: String? { matchCase ?? match }
    var caseSensitive: Bool { matchCase != nil }
    /// Whether the command samples a set (and counts) rather than streaming one reply.
    func wantsSet(samples: Int) -> Bool { samples > 1 || pattern != nil || compareBase }
}

/// A sample set as JSON: the pattern, its count and every sample.
struct SetJSON: Encodable {
    let pattern: String?
    let case_sensitive: Bool
    let matches: Int
    let total: Int
    let samples: [SampleJSON]
    init(_ set: SampleSet) {
        pattern = set.pattern
        case_sensitive = set.caseSensitive == true
        matches = set.matching.count
        total = set.samples.count
        samples = SampleJSON.list(set)
    }
}

/// The organism's and the base model's sets of one probe, as JSON and as text.
struct ComparisonJSON: Encodable {
    let prompt: String
    let summary: String
    let organism: SetJSON
    let base: SetJSON
    init(_ c: BaseComparison) {
        prompt = c.organism.samples.first?.prompt ?? ""
        summary = c.summary
        organism = SetJSON(c.organism)
        base = SetJSON(c.base)
    }
}

/// Prints a finished sample of a set, saying which model made it when two are compared.
func printSample(_ i: Int, _ record: GenerationRecord, base: Bool?, prefix: String = "") {
    let who = base.map { $0 ? "base " : "organism " } ?? ""
    printSafe("--- \(who)sample \(i + 1) (seed \(record.settings.sampling.seed))\n" + prefix + record.text + "\n")
}

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
    @Option(help: "Number of samples (seeds seed, seed+1, ...), each steered and unsteered.") var samples: Int = 1
    @OptionGroup var matching: MatchOptions
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
        let input = inputOptions.input
        guard samples >= 1 else { throw ValidationError("--samples must be >= 1") }
        if matching.wantsSet(samples: samples) {
            return try runSets(input, specs: specs, sae: autoencoder, model: loaded)
        }
        let result = try Steering.compare(input, specs: specs, sae: autoencoder, settings: sampling.settings, model: loaded)
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

    /// N seeds, each sampled steered and unsteered, counted with the pattern; with --compare-base
    /// all of it again with the adapter off.
    func runSets(_ input: GenerationInput, specs: [SteeringSpec], sae: SparseAutoencoder, model: LoadedModel) throws {
        struct Sets { var steered: SampleSet; var unsteered: SampleSet; var hook: String }
        func sets(base: Bool?) throws -> Sets {
            var baselines: [GenerationRecord] = []
            var hook = ""
            let steered = try MultiSample.run(count: samples, settings: sampling.settings, pattern: matching.pattern,
                                              caseSensitive: matching.caseSensitive, one: { s in
                let c = try Steering.compare(input, specs: specs, sae: sae, settings: s, model: model)
                baselines.append(c.baseline)
                hook = c.hook
                return c.steered
            }, onSample: { i, record in
                if !json {
                    let who = base.map { $0 ? "base " : "organism " } ?? ""
                    printSafe("--- \(who)sample \(i + 1) (seed \(record.settings.sampling.seed))\nunsteered: \(baselines[i].text)\nsteered:   \(record.text)\n")
                }
                return true
            })
            let unsteered = try MultiSample.set(baselines, pattern: matching.pattern, caseSensitive: matching.caseSensitive)
            return Sets(steered: steered, unsteered: unsteered, hook: hook)
        }
        func line(_ s: Sets) -> String {
            let suffix = matching.pattern.map { " match /\($0)/" + (matching.caseSensitive ? " (case-sensitive)" : "") } ?? ""
            return "steered \(s.steered.matching.count)/\(s.steered.samples.count) vs unsteered \(s.unsteered.matching.count)/\(s.unsteered.samples.count)\(suffix)"
        }
        struct SetsJSON: Encodable { let hook: String; let summary: String; let steered: SetJSON; let unsteered: SetJSON }
        func encode(_ s: Sets) -> SetsJSON { SetsJSON(hook: s.hook, summary: line(s), steered: SetJSON(s.steered), unsteered: SetJSON(s.unsteered)) }
        if matching.compareBase {
            // Inside `both` the second run has the adapter off, so `adapter == nil` names it.
            let (o, b) = try BaseComparison.both(model) { try sets(base: model.adapter == nil) }
            let summary = "organism: \(line(o)); base: \(line(b))"
            if json {
                struct Out: Encodable { let specs: [SteeringSpec]; let summary: String; let organism: SetsJSON; let base: SetsJSON }
                try printJSON(Out(specs: specs, summary: summary, organism: encode(o), base: encode(b)))
            } else {
                printSafe(summary + "\n")
            }
            return
        }
        let s = try sets(base: nil)
        if json {
            struct Out: Encodable { let specs: [SteeringSpec]; let result: SetsJSON }
            try printJSON(Out(specs: specs, result: encode(s)))
        } else {
            printSafe(line(s) + "\n")
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
    @OptionGroup var matching: MatchOptions
    @OptionGroup var inputOptions: InputOptions
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        guard let point = HookPoint(name: "blocks.\(layer).hook_\(hook)") else {
            throw ValidationError("unknown hook '\(hook)': use resid_pre, resid_post, attn_out or mlp_out")
        }
        guard noise >= 0, noise.isFinite else { throw ValidationError("--noise must be >= 0") }
        guard samples >= 1 else { throw ValidationError("--samples must be >= 1") }
        let loaded = try modelOptions.load()
        let (input, match) = (inputOptions.input, matching.pattern)
        func fuzz(base: Bool?) throws -> SampleSet {
            try Fuzzing.run(input, at: point, scale: noise, samples: samples, pattern: match, caseSensitive: matching.caseSensitive,
                            settings: sampling.settings, model: loaded) { i, record in
                if !json { printSample(i, record, base: base) }
                return true
            }
        }
        if matching.compareBase {
            // Inside `both` the second run has the adapter off, so `adapter == nil` names it.
            let (o, b) = try BaseComparison.both(loaded) { try fuzz(base: loaded.adapter == nil) }
            let c = BaseComparison(organism: o, base: b)
            if json {
                struct Out: Encodable { let hook: String; let noise: Float; let comparison: ComparisonJSON }
                try printJSON(Out(hook: point.name, noise: noise, comparison: ComparisonJSON(c)))
            } else {
                printSafe(c.summary + "\n")
            }
            return
        }
        let set = try fuzz(base: nil)
        if json {
            struct Out: Encodable {
                let hook: String; let noise: Float; let pattern: String?; let case_sensitive: Bool; let matches: Int; let total: Int; let samples: [SampleJSON]
            }
            let list = SampleJSON.list(set)
            try printJSON(Out(hook: point.name, noise: noise, pattern: match, case_sensitive: matching.caseSensitive,
                              matches: set.matching.count, total: set.samples.count, samples: list))
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
    @OptionGroup var matching: MatchOptions
    @Flag(help: "Print JSON.") var json = false
    @Argument(help: "narrator: the text to continue; user: the start of the user's turn (optional).") var text: [String] = []

    func run() throws {
        guard samples >= 1 else { throw ValidationError("--samples must be >= 1") }
        guard assistantTurns.count <= userTurns.count else { throw ValidationError("give a --user turn before each --assistant turn") }
        var conversation: [ChatMessage] = []
        for (i, u) in userTurns.enumerated() {
            conversation.append(ChatMessage(role: "user", content: u))
            if i < assistantTurns.count { conversation.append(ChatMessage(role: "assistant", content: assistantTurns[i])) }
        }
        let engine = try backendOptions.engine(modelOptions)
        let t = readTextArgument(text)
        if matching.compareBase {
            let c = try BaseComparison.run(count: samples, settings: sampling.settings, pattern: matching.pattern, caseSensitive: matching.caseSensitive,
                                           engine: engine, one: { s, e in
                try Persona.run(mode, conversation: conversation, system: system, text: t, settings: s, engine: e)
            }, onSample: { base, i, record in
                if !json { printSample(i, record, base: base) }
                return true
            })
            if json {
                struct Out: Encodable { let mode: String; let comparison: ComparisonJSON }
                try printJSON(Out(mode: mode.rawValue, comparison: ComparisonJSON(c)))
            } else {
                printSafe(c.summary + "\n")
            }
            return
        }
        let match = matching.pattern
        let set = try MultiSample.run(count: samples, settings: sampling.settings, pattern: match, caseSensitive: matching.caseSensitive,
                                      concurrency: engine.concurrency, one: { s in
            try Persona.run(mode, conversation: conversation, system: system, text: t, settings: s, engine: engine)
        }, onSample: { i, record in
            if !json { printSafe((samples > 1 ? "--- sample \(i + 1) (seed \(record.settings.sampling.seed))\n" : "") + record.text + "\n") }
            return true
        })
        if json {
            struct Out: Encodable {
                let mode: String; let prompt: String; let pattern: String?; let case_sensitive: Bool; let matches: Int; let total: Int; let samples: [SampleJSON]
            }
            let list = SampleJSON.list(set)
            try printJSON(Out(mode: mode.rawValue, prompt: set.samples.first?.prompt ?? "", pattern: match, case_sensitive: matching.caseSensitive,
                              matches: set.matching.count, total: set.samples.count, samples: list))
        } else if let summary = set.matchSummary {
            printSafe(summary + "\n")
        }
    }
}
