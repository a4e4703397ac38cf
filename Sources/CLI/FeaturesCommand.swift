import ArgumentParser
import Foundation
import Model
import Techniques

extension FeatureReduction: ExpressibleByArgument {}

struct Features: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The strongest sparse-autoencoder features while the model reads TEXT (raw text, no template).")
    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "SAELens directory: cfg.json and sae_weights.safetensors (labels.json optional).") var sae: String
    @Option(help: "max, sum, or last over tokens.") var reduce: FeatureReduction = .max
    @Option(help: "How many features.") var top: Int = 20
    @Flag(help: "Print JSON.") var json = false
    @Argument(help: "The text.") var text: [String] = []

    func validate() throws {
        guard top >= 1 else { throw ValidationError("--top must be >= 1") }
    }

    func run() throws {
        let loaded = try modelOptions.load()
        let autoencoder = try SparseAutoencoder.load(directory: sae, expectedDIn: loaded.model.embeddingLength)
        let reading = try FeatureActivations.compute(text: readTextArgument(text), sae: autoencoder, model: loaded,
                                                     reduce: reduce, top: top)
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
