import ArgumentParser
import Foundation
import Model
import Techniques
import Workbench

extension FeatureReduction: ExpressibleByArgument {}

/// `workbench features ...`: an SAE's features on a text (the default), and its feature index.
struct Features: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sparse-autoencoder features: on a text (default), or searched, detailed and ranked through the feature index.",
        discussion: """
        `workbench features --sae DIR TEXT` is `workbench features read --sae DIR TEXT` (use `read` \
        explicitly when TEXT starts with a subcommand's name). search and detail read DIR/feature_index.json, \
        which `workbench sae index` builds.
        """,
        subcommands: [FeaturesRead.self, FeaturesSearch.self, FeaturesDetail.self, FeaturesAssistant.self],
        defaultSubcommand: FeaturesRead.self
    )
}

struct FeaturesRead: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read",
        abstract: "The strongest sparse-autoencoder features while the model reads TEXT (raw text, no template).")
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var inProcessOnly: InProcessOnly
    @Option(help: "SAELens directory: cfg.json and sae_weights.safetensors (labels.json, feature_index.json optional).") var sae: String
    @Option(help: "max, sum, or last over tokens (position 0, the attention sink, left out unless it is the only one).") var reduce: FeatureReduction = .max
    @Option(help: "How many features.") var top: Int = 20
    @Flag(name: .customLong("compare-base"), help: "Read the text on the base model too (the adapter off) and list the features the adapter moves most: organism minus base, largest first, then the most negative.")
    var compareBase = false
    @Flag(help: "Print JSON.") var json = false
    @Argument(help: "The text.") var text: [String] = []

    func validate() throws {
        guard top >= 1 else { throw ValidationError("--top must be >= 1") }
    }

    func run() throws {
        let loaded = try modelOptions.load()
        let autoencoder = try SparseAutoencoder.load(directory: sae, expectedDIn: loaded.model.embeddingLength)
        if compareBase { return try runCompare(loaded, autoencoder) }
        var reading = try FeatureActivations.compute(text: readTextArgument(text), sae: autoencoder, model: loaded,
                                                     reduce: reduce, top: top)
        // labels.json wins (compute read it); the index's automatic labels fill the rest.
        if FileManager.default.fileExists(atPath: FeatureIndex.url(in: autoencoder.directory).path) {
            let index = try FeatureIndex.load(besides: autoencoder)
            for i in reading.features.indices where reading.features[i].label == nil {
                reading.features[i].label = index.features[reading.features[i].index].label
            }
        }
        if json {
            struct Entry: Encodable {
                let index: Int; let activation: Float; let label: String?
                func encode(to encoder: Encoder) throws {
                    enum K: String, CodingKey { case index, activation, label }
                    var c = encoder.container(keyedBy: K.self)
                    try c.encode(index, forKey: .index)
                    try c.encode(activation, forKey: .activation)
                    try c.encode(label, forKey: .label) // null when none
                }
            }
            struct Out: Encodable { let hook: String; let features: [Entry] }
            try printJSON(Out(hook: reading.point.name,
                              features: reading.features.map { Entry(index: $0.index, activation: $0.activation, label: $0.label) }))
            return
        }
        printSafe("\(reading.point.name), \(reading.tokens.count) tokens, \(reduce.rawValue) over tokens:", terminator: "\n")
        if reading.features.isEmpty { printSafe("  (no feature fired)", terminator: "\n") }
        for f in reading.features {
            printSafe(String(format: "%6d  %10.4f  ", f.index, f.activation) + (f.label ?? ""), terminator: "\n")
        }
    }
}

extension FeaturesRead {
    /// Organism minus base for the text's features.
    func runCompare(_ loaded: LoadedModel, _ sae: SparseAutoencoder) throws {
        var labels = (try FeatureActivations.loadLabels(directory: sae.directory)) ?? [:]
        if FileManager.default.fileExists(atPath: FeatureIndex.url(in: sae.directory).path) {
            for f in try FeatureIndex.load(besides: sae).features where labels[f.index] == nil { labels[f.index] = f.label }
        }
        let diffs = try FeatureActivations.compareBase(text: readTextArgument(text), sae: sae, model: loaded, reduce: reduce, top: top, labels: labels)
        if json {
            struct Out: Encodable { let hook: String; let reduce: String; let differences: [FeatureDifference] }
            return try printJSON(Out(hook: sae.hookName ?? "", reduce: reduce.rawValue, differences: diffs))
        }
        printSafe("\(sae.hookName ?? ""), \(reduce.rawValue) over tokens, organism minus base (the adapter off):", terminator: "\n")
        printSafe(" index    organism        base  difference  label", terminator: "\n")
        if diffs.isEmpty { printSafe("  (the adapter moves no feature)", terminator: "\n") }
        for d in diffs {
            printSafe(String(format: "%6d  %10.4f  %10.4f  %+10.4f  ", d.index, d.organism, d.base, d.difference) + (d.label ?? ""), terminator: "\n")
        }
    }
}

/// A context as one line (`FeatureContext.line`).
func contextLine(_ c: FeatureContext) -> String { c.line }

struct FeaturesSearch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Search an SAE's features by text, over their labels and their top-activating contexts.")
    @Option(help: "SAELens directory with feature_index.json (from `workbench sae index`).") var sae: String
    @Option(help: "Most hits.") var limit: Int = 20
    @Flag(help: "Print JSON.") var json = false
    @Argument(help: "The query: words, or a feature number.") var query: [String] = []

    func validate() throws {
        guard limit >= 1 else { throw ValidationError("--limit must be >= 1") }
        guard !readTextArgument(query).trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("give a query") }
    }

    func run() throws {
        let autoencoder = try SparseAutoencoder.load(directory: sae)
        let index = try FeatureIndex.load(besides: autoencoder)
        let q = readTextArgument(query)
        let hits = index.search(q, limit: limit)
        if json {
            struct Out: Encodable { let query: String; let hits: [FeatureSearchHit] }
            try printJSON(Out(query: q, hits: hits))
            return
        }
        if hits.isEmpty { printSafe("no feature matches \(q.debugDescription)", terminator: "\n") }
        for h in hits {
            printSafe(String(format: "%6d  score %6.2f  freq %.5f  ", h.feature, h.score, h.frequency) + h.label, terminator: "\n")
            if let c = h.context { printSafe("        " + contextLine(c), terminator: "\n") }
        }
    }
}

struct FeaturesDetail: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detail",
        abstract: "A feature's label, frequency, top-activating contexts and nearest features by decoder cosine.")
    @Option(help: "SAELens directory with feature_index.json (from `workbench sae index`).") var sae: String
    @Option(help: "Nearest features to list.") var nearest: Int = 10
    @Flag(help: "Print JSON.") var json = false
    @Argument(help: "The feature number.") var feature: Int

    func validate() throws {
        guard nearest >= 0 else { throw ValidationError("--nearest must be >= 0") }
    }

    func run() throws {
        let autoencoder = try SparseAutoencoder.load(directory: sae)
        let index = try FeatureIndex.load(besides: autoencoder)
        let detail = try index.detail(feature: feature, sae: autoencoder, nearest: nearest)
        let s = detail.summary
        if json {
            struct Neighbour: Encodable { let index: Int; let cosine: Float; let label: String }
            struct Out: Encodable {
                let hook: String; let indexed_tokens: Int; let feature: FeatureSummary; let nearest: [Neighbour]
            }
            try printJSON(Out(hook: index.hook, indexed_tokens: index.tokens, feature: s,
                              nearest: detail.neighbours.map { Neighbour(index: $0.neighbour.index, cosine: $0.neighbour.cosine, label: $0.label) }))
            return
        }
        printSafe("feature \(s.index) of \(index.dSAE) at \(index.hook): " + s.label, terminator: "\n")
        printSafe(String(format: "  fires on %d of %d indexed tokens (frequency %.5f); max %.3f, mean when active %.3f",
                         s.activeTokens, index.tokens, s.frequency, s.maxActivation, s.meanActivation), terminator: "\n")
        printSafe("  activating tokens: " + s.activatingTokens.joined(separator: ", "), terminator: "\n")
        printSafe("  promoted tokens:   " + s.promotedTokens.map { $0.debugDescription }.joined(separator: ", "), terminator: "\n")
        printSafe("top contexts:", terminator: "\n")
        if s.contexts.isEmpty { printSafe("  (none: the feature never fired on the indexed corpus)", terminator: "\n") }
        for c in s.contexts { printSafe("  " + contextLine(c), terminator: "\n") }
        if !detail.neighbours.isEmpty {
            printSafe("nearest by decoder cosine:", terminator: "\n")
            for n in detail.neighbours {
                printSafe(String(format: "  %6d  %.4f  ", n.neighbour.index, n.neighbour.cosine) + n.label, terminator: "\n")
            }
        }
    }
}

struct FeaturesAssistant: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "assistant",
        abstract: "Features active on most assistant tokens across conversations (rendered with the model's chat template).",
        discussion: """
        FILE is a JSON list of conversations; each is a list of {"role": ..., "content": ...} messages \
        (or an object with a "messages" list). Every token of an assistant message's content is encoded at \
        the SAE's hook; features are ranked by the fraction of those tokens they fire on. other_fraction \
        is the same fraction over the remaining tokens (system, user, template markup), for contrast.
        """)
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var inProcessOnly: InProcessOnly
    @Option(help: "SAELens directory.") var sae: String
    @Option(help: "How many features.") var top: Int = 20
    @Flag(help: "Print JSON.") var json = false
    @Argument(help: "A JSON file of conversations.") var file: String

    func validate() throws {
        guard top >= 1 else { throw ValidationError("--top must be >= 1") }
    }

    func run() throws {
        guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
        let conversations = try AssistantFeatures.conversations(json: data)
        let loaded = try modelOptions.load()
        let autoencoder = try SparseAutoencoder.load(directory: sae, expectedDIn: loaded.model.embeddingLength)
        let report = try AssistantFeatures.rank(conversations: conversations, sae: autoencoder, model: loaded, top: top,
                                                labels: try FeatureIndex.labels(for: autoencoder))
        if json {
            try printJSON(report)
            return
        }
        printSafe("\(report.hook): \(report.conversations) conversations, \(report.assistantTokens) assistant tokens, \(report.otherTokens) others",
                  terminator: "\n")
        printSafe("feature  on assistant  mean act  on others  label", terminator: "\n")
        for f in report.features {
            printSafe(String(format: "%7d  %12.3f  %8.3f  %9.3f  ", f.index, f.assistantFraction, f.meanActivation, f.otherFraction)
                      + (f.label ?? ""), terminator: "\n")
        }
    }
}
