import Foundation
import Model

/// A probe run on the organism and on its base model (the adapter off), seed for seed: what the
/// command-line auditor wrote a shell wrapper for ("organism 7/8 vs base 0/8").
public struct BaseComparison: Codable, Sendable {
    public var organism: SampleSet
    public var base: SampleSet

    public init(organism: SampleSet, base: SampleSet) {
        self.organism = organism
        self.base = base
    }

    /// "organism 7/8 vs base 0/8 match /reward/" (without a pattern: the sample counts).
    public var summary: String { BaseComparison.summary(organism: organism, base: base) }

    public static func summary(organism: SampleSet, base: SampleSet) -> String {
        let suffix = organism.pattern.map { " match /\($0)/" + (organism.caseSensitive == true ? " (case-sensitive)" : "") } ?? " samples"
        return "organism \(organism.matching.count)/\(organism.samples.count) vs base \(base.matching.count)/\(base.samples.count)" + suffix
    }

    public enum Failure: Error, CustomStringConvertible {
        case noBase(String)
        public var description: String {
            switch self {
            case .noBase(let engine):
                return "\(engine) has no adapter to turn off: comparing with the base model needs --lora DIR in-process (or, on a server, --base-served-model NAME)"
            }
        }
    }

    /// The base model of `engine`, or an error saying how to get one.
    public static func baseEngine(of engine: any TextEngine) throws -> any TextEngine {
        guard let base = engine.baseEngine() else { throw Failure.noBase(engine.identity.label) }
        return base
    }

    /// `one` sampled `count` times on `engine` (seeds seed, seed+1, ...) and then on its base model
    /// with the same seeds. `onSample` sees each finished sample with which model made it.
    public static func run(count: Int, settings: GenerationSettings, pattern: String?, caseSensitive: Bool = false,
                           engine: any TextEngine, one: (GenerationSettings, any TextEngine) throws -> GenerationRecord,
                           onSample: (_ base: Bool, Int, GenerationRecord) -> Bool = { _, _, _ in true }) throws -> BaseComparison {
        let base = try baseEngine(of: engine)
        let organism = try MultiSample.run(count: count, settings: settings, pattern: pattern, caseSensitive: caseSensitive,
                                           concurrency: engine.concurrency, one: { try one($0, engine) }, onSample: { onSample(false, $0, $1) })
        let baseSet = try MultiSample.run(count: count, settings: settings, pattern: pattern, caseSensitive: caseSensitive,
                                          concurrency: base.concurrency, one: { try one($0, base) }, onSample: { onSample(true, $0, $1) })
        return BaseComparison(organism: organism, base: baseSet)
    }

    /// White-box work on the organism and then on the base model (`model` with its adapter off).
    public static func both<T>(_ model: LoadedModel, _ work: () throws -> T) throws -> (organism: T, base: T) {
        guard model.adapter != nil else { throw Failure.noBase(URL(fileURLWithPath: model.path).lastPathComponent + " in-process") }
        let organism = try work()
        let base = try model.withoutAdapter(work)
        return (organism, base)
    }
}

/// A feature's reduced activation on the organism and on the base model, and organism minus base.
public struct FeatureDifference: Codable, Sendable, Equatable {
    public var index: Int
    public var organism: Float
    public var base: Float
    public var difference: Float
    public var label: String?
}

extension FeatureActivations {
    /// The features of `text` that the adapter moves most: reduced over tokens on both models, then
    /// the `top` largest differences organism minus base (largest first; what the adapter adds),
    /// followed by the `top` most negative ones (what it takes away).
    public static func compareBase(text: String, sae: SparseAutoencoder, model: LoadedModel, reduce: FeatureReduction,
                                   top: Int, labels: [Int: String] = [:]) throws -> [FeatureDifference] {
        let (o, b) = try BaseComparison.both(model) { try perToken(text: text, sae: sae, model: model, reduce: reduce).reduced }
        let diff = zip(o, b).map { $0 - $1 }
        let up = SparseAutoencoder.topIndices(diff, max(0, top)).filter { diff[$0] > 0 }
        let down = SparseAutoencoder.topIndices(diff.map { -$0 }, max(0, top)).filter { diff[$0] < 0 }
        return (up + down).map { FeatureDifference(index: $0, organism: o[$0], base: b[$0], difference: diff[$0], label: labels[$0]) }
    }
}
