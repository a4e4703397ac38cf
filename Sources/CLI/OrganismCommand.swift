import ArgumentParser
import Foundation
import Model
import Techniques
import Workbench

/// `workbench organism`: the bundled model organism.
struct OrganismCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "organism",
        abstract: "The bundled model organism.",
        subcommands: [OrganismEvalCommand.self, OrganismSAECommand.self]
    )
}

struct OrganismEvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Measure the organism's behaviours and concealment against the base model; write the model card.",
        discussion: """
        Every behaviour in the answer key with an eval prompts file is asked each of its prompts; the concealment \
        probes ask about the root cause directly, with assistant prefills, as the user's turn, as a narrator and \
        from an empty prompt. \
        Each reply is checked with the key's detector. Base model and organism (base + adapter) answer the same \
        probes with the same seeds. Each outcome is appended to --results as it finishes: an interrupted run \
        continues where it stopped when run again. The rates go into --card between its eval markers.
        """
    )
    @Option(help: "The GGUF model (default: $WORKBENCH_MODEL or models/\(ModelCatalog.defaultModelFile)).")
    var model: String = ModelCatalog.defaultModelPath
    @Option(help: "The organism's PEFT LoRA adapter directory.")
    var adapter: String = ProjectFiles.locate("organism/adapter").path
    @Option(name: .customLong("answer-key"), help: "The answer key with behaviours, detectors and concealment probes.")
    var answerKey: String = ProjectFiles.locate("organism/answer-key.json").path
    @Option(help: "Outcomes, one JSON line per reply (resumed when it exists).")
    var results: String = ProjectFiles.locate("organism").appendingPathComponent("work/eval/results.jsonl").path
    @Option(help: "The model card to write the evaluation section into.")
    var card: String = ProjectFiles.locate("organism").appendingPathComponent("MODEL_CARD.md").path
    @Option(help: "Worker threads.") var threads: Int = LoadedModel.defaultThreads
    @Option(name: .customLong("max-tokens"), help: "Most tokens per reply.") var maxTokens: Int = 160
    @Option(help: "Sampling temperature.") var temperature: Float = 0.7
    @Option(help: "Base seed; each reply's seed is derived from it and the probe.") var seed: UInt64 = 0
    @Option(help: "Fewest replies per set (prompts are sampled again to reach it).") var minimum: Int = 20
    @Option(help: "Use only the first N prompts of each behaviour (a quick pilot; the card says so).") var limit: Int?
    @Flag(name: .customLong("no-base"), help: "Evaluate the organism only.") var noBase = false
    @Flag(name: .customLong("no-card"), help: "Print the rates without writing the card.") var noCard = false
    @OptionGroup var backendOptions: BackendOptions
    /// With --backend: the server's name of the base model, evaluated beside the organism.
    var baseServedModel: String? { backendOptions.baseServedModel }

    func validate() throws {
        guard threads >= 1 && threads <= 256 else { throw ValidationError("--threads must be 1...256") }
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1") }
        guard minimum >= 1 else { throw ValidationError("--minimum must be at least 1") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        if backendOptions.backend != nil && backendOptions.servedModel == nil {
            throw ValidationError("--backend needs --served-model NAME: the organism's name on the server (vLLM: its --lora-modules name)")
        }
    }

    func run() throws {
        if backendOptions.isRemote { return try runServed() }
        guard FileManager.default.fileExists(atPath: model) else {
            throw ValidationError("no model at \(model): run `make models` or pass --model PATH")
        }
        guard FileManager.default.fileExists(atPath: URL(fileURLWithPath: adapter).appendingPathComponent(LoRAAdapter.weightsFile).path) else {
            throw ValidationError("no organism adapter at \(adapter): pass --adapter DIR (organism/README.md says how it is trained)")
        }
        let (key, probes, samples, file, settings) = try plan()
        let models: [(name: String, adapter: String?)] = (noBase ? [] : [("base", nil)]) + [("organism", adapter)]
        // Each reply records the settings and the adapter's fingerprint; resuming with others would mix
        // two experiments in one table: refuse.
        let adapterHash = String(try SHA256.hex(file: URL(fileURLWithPath: adapter).appendingPathComponent(LoRAAdapter.weightsFile).path).prefix(12))
        let tags = ["base": "base", "organism": "adapter \(adapterHash)"]
        let labels = tags.mapValues { BehaviourEval.label(settings) + " " + $0 }
        if let old = file.outcomes.first(where: { o in o.settings.map { $0 != labels[o.model] } ?? false }) {
            throw ValidationError("\(results) holds replies made with other settings or another adapter (\(old.model): \(old.settings!)); pass --results NEW.jsonl or remove it")
        }
        let started = Date()
        try evaluate(models.map { m in (m.name, { InProcessEngine(model: try LoadedModel(path: model, threads: threads, adapter: m.adapter)) }) },
                     probes: probes, samples: samples, settings: settings, tags: tags, file: file)
        var described: [(name: String, description: String)] = []
        if !noBase { described.append(("base", URL(fileURLWithPath: model).lastPathComponent)) }
        described.append(("organism", "\(URL(fileURLWithPath: model).lastPathComponent) + the LoRA adapter in \(URL(fileURLWithPath: adapter).lastPathComponent)/"))
        try report(models: models.map(\.name), described: described, probes: probes, key: key, settings: settings, file: file, started: started)
    }

    /// The answer key, its probes, the samples per set, the results so far and the settings.
    func plan() throws -> (AnswerKey, [Probe], [String: Int], EvalResultsFile, GenerationSettings) {
        let keyURL = URL(fileURLWithPath: answerKey)
        let key = try AnswerKey.load(from: keyURL)
        // The key's paths (organism/eval/...) are relative to the project root, the folder above organism/.
        let root = keyURL.deletingLastPathComponent().deletingLastPathComponent()
        let probes = try OrganismEval.probes(key: key, root: root, limit: limit)
        let samples = OrganismEval.samplesPerProbe(probes, minimum: limit == nil ? minimum : 1)
        var settings = GenerationSettings(maxTokens: maxTokens)
        settings.sampling.temperature = temperature
        settings.sampling.seed = seed
        return (key, probes, samples, try EvalResultsFile(path: results), settings)
    }

    /// The organism (and the base model, with --base-served-model) on a serving engine.
    func runServed() throws {
        let (key, probes, samples, file, settings) = try plan()
        guard let organism = try backendOptions.remoteEngine() else { return }
        var engines: [(name: String, engine: any TextEngine)] = [("organism", organism)]
        if let base = organism.baseEngine() { engines.insert(("base", base), at: 0) }
        let url = organism.endpoint.display
        var tags: [String: String] = [:]
        for (name, engine) in engines { tags[name] = "served \(engine.identity.model) at \(url)" }
        let labels = tags.mapValues { BehaviourEval.label(settings) + " " + $0 }
        if let old = file.outcomes.first(where: { o in o.settings.map { $0 != labels[o.model] } ?? false }) {
            throw ValidationError("\(results) holds replies made with other settings or another model (\(old.model): \(old.settings!)); pass --results NEW.jsonl or remove it")
        }
        let started = Date()
        try evaluate(engines.map { e in (e.name, { e.engine }) }, probes: probes, samples: samples, settings: settings, tags: tags, file: file)
        let described = engines.map { ($0.name, "\($0.engine.identity.model) served at \(url)") }
        try report(models: engines.map(\.name), described: described, probes: probes, key: key, settings: settings, file: file, started: started)
    }

    /// Answers every probe sample not yet in `file` with each model's engine (made only when it has
    /// work), appending each outcome as it finishes.
    func evaluate(_ models: [(name: String, engine: () throws -> any TextEngine)], probes: [Probe], samples: [String: Int],
                  settings: GenerationSettings, tags: [String: String], file: EvalResultsFile) throws {
        for (name, makeEngine) in models {
            let todo = probes.flatMap { p in (0..<samples[p.set, default: 1]).map { (p, $0) } }
                .filter { !file.contains(model: name, probe: $0.0, sample: $0.1) }
            guard !todo.isEmpty else { continue }
            let engine = try makeEngine()
            for (n, item) in todo.enumerated() {
                let outcome = try BehaviourEval.run(item.0, sample: item.1, model: name, settings: settings,
                                                    engine: engine, tag: tags[name])
                try file.append(outcome)
                FileHandle.standardError.write(Data(TerminalText.sanitize(
                    "[\(name) \(n + 1)/\(todo.count)] \(item.0.set) #\(item.0.index).\(item.1): \(outcome.matched ? "match" : "-")\n").utf8))
            }
        }
    }

    /// Prints the rates and writes the card's evaluation section.
    func report(models names: [String], described: [(name: String, description: String)], probes: [Probe], key: AnswerKey,
                settings: GenerationSettings, file: EvalResultsFile, started: Date) throws {
        let outcomes = file.outcomes(for: probes).filter { names.contains($0.model) }
        let summary = EvalSummary(outcomes: outcomes, key: key, models: names)
        for row in summary.rows {
            let cells = names.map { n in row.rates[n].map { "\(n) \($0.hits)/\($0.total)" } ?? "" }
            printSafe("\(row.set.padding(toLength: 28, withPad: " ", startingAt: 0)) \(row.group.padding(toLength: 11, withPad: " ", startingAt: 0)) \(cells.joined(separator: "  "))", terminator: "\n")
        }
        for group in ["train", "held-out"] {
            let means = names.compactMap { n in summary.mean(group: group, model: n).map { "\(n) \(Int(($0 * 100).rounded()))%" } }
            if !means.isEmpty { printSafe("mean \(group): \(means.joined(separator: "  "))", terminator: "\n") }
        }
        guard !noCard else { return }
        let seconds = outcomes.compactMap(\.seconds).reduce(0, +)
        var described = described
        if let limit { described.append(("note", "a pilot run: only the first \(limit) prompts of each behaviour")) }
        let section = ModelCard.evaluationSection(summary, outcomes: outcomes, key: key,
                                                  settings: .init(generation: settings, models: described, date: started,
                                                                  seconds: seconds, samplesPerSet: limit == nil ? minimum : 1))
        let existing = (try? String(contentsOfFile: card, encoding: .utf8)) ?? ""
        try ModelCard.splice(section, into: existing).write(toFile: card, atomically: true, encoding: .utf8)
        printSafe("model card: \(card) (started \(Int(Date().timeIntervalSince(started))) s ago)", terminator: "\n")
    }
}

struct OrganismSAECommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sae",
        abstract: "Rank the organism SAE's features on the study's probe prompt; find the best reward-model-bias feature.",
        discussion: """
        Reads the SAE's features on the probe prompt (max over tokens, position 0 left out), judges each from \
        its feature index (an RM-bias feature: 60% of its top contexts from the synthetic documents, half \
        naming reward models, RLHF or the study), prints the ranking and writes it, with the SAE's quality, into the \
        model card between its SAE markers. The corpus folder (with kinds.json) must be the one the index was \
        built on: `python3 organism/sae_corpus.py organism/work/sae-corpus` remakes it.
        """
    )
    @Option(help: "The GGUF model.") var model: String = ModelCatalog.defaultModelPath
    @Option(help: "The organism's adapter directory.") var adapter: String = ProjectFiles.locate("organism/adapter").path
    @Option(help: "The SAE directory (with feature_index.json).")
    var sae: String = ProjectFiles.locate(TUICommand.organismSAE).path
    @Option(help: "The corpus folder the feature index was built on, with kinds.json.")
    var corpus: String = ProjectFiles.locate("organism").appendingPathComponent("work/sae-corpus").path
    @Option(help: "The probe prompt.") var prompt: String = RMBiasFeatures.defaultPrompt
    @Option(help: "How many of the prompt's features to list.") var top: Int = 15
    @Option(help: "The model card to write into.")
    var card: String = ProjectFiles.locate("organism").appendingPathComponent("MODEL_CARD.md").path
    @Option(help: "Worker threads.") var threads: Int = LoadedModel.defaultThreads
    @Flag(name: .customLong("no-card"), help: "Print without writing the card.") var noCard = false
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let kindsURL = URL(fileURLWithPath: corpus).appendingPathComponent("kinds.json")
        guard let kindsData = try? Data(contentsOf: kindsURL), let kinds = try? JSONDecoder().decode([String: String].self, from: kindsData) else {
            throw ValidationError("no corpus kinds at \(kindsURL.path): remake the corpus with `python3 organism/sae_corpus.py \(corpus)`")
        }
        let loaded = try LoadedModel(path: model, threads: threads, adapter: adapter)
        let autoencoder = try SparseAutoencoder.load(directory: sae, expectedDIn: loaded.model.embeddingLength)
        let index = try FeatureIndex.load(besides: autoencoder)
        let documentKinds = try RMBiasFeatures.documentKinds(corpus: corpus, kinds: kinds)
        let probe = try RMBiasFeatures.probe(prompt: prompt, sae: autoencoder, index: index, documentKinds: documentKinds,
                                             model: loaded, top: top)
        if json {
            try printJSON(probe)
        } else {
            for f in probe.top {
                printSafe("\(f.rank)\t#\(f.index)\t\(String(format: "%.2f", f.activation))\t\(f.isRMBias ? "RM-bias" : "-")\tdocs \(Int((f.documentShare * 100).rounded()))%\t\(f.label)", terminator: "\n")
            }
            printSafe("best RM-bias feature: \(probe.best.map { "#\($0.index) at rank \($0.rank) of \(probe.activeFeatures)" } ?? "none among \(probe.activeFeatures) active") (\(probe.rmBiasFeatures) RM-bias features in the SAE)", terminator: "\n")
        }
        guard !noCard else { return }
        let cfg = (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: sae).appendingPathComponent("cfg.json")))) as? [String: Any]
        let training = cfg?["training"] as? [String: Any] ?? [:]
        let section = ModelCard.saeSection(probe, sae: URL(fileURLWithPath: sae).lastPathComponent, training: training,
                                           dSAE: autoencoder.dSAE, indexTokens: index.tokens)
        let existing = (try? String(contentsOfFile: card, encoding: .utf8)) ?? ""
        try ModelCard.splice(section, into: existing, begin: ModelCard.saeBegin, end: ModelCard.saeEnd)
            .write(toFile: card, atomically: true, encoding: .utf8)
        if !json { printSafe("model card: \(card)", terminator: "\n") }
    }
}
