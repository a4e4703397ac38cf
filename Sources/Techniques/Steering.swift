import Foundation
import Model

/// One feature pushed during generation.
public struct SteeringSpec: Codable, Sendable, Equatable {
    public enum Mode: String, Codable, Sendable, CaseIterable {
        /// x += a * W_dec[f]: add the feature's decoder direction to every token.
        case add
        /// f -> (1 + a) * f, keeping the SAE's reconstruction error: x += a * f * W_dec[f].
        /// The study's causal test (a = -1 ablates the feature).
        case scale
    }
    public var feature: Int
    public var strength: Float
    public var mode: Mode

    public init(feature: Int, strength: Float, mode: Mode) {
        self.feature = feature
        self.strength = strength
        self.mode = mode
    }
}

/// Activation edits at one hook point, installed on the model for the duration of a generation.
public enum ActivationEdits {
    /// Hooks that apply the steering specs to every token at the SAE's hook point.
    public static func steering(_ specs: [SteeringSpec], sae: SparseAutoencoder, at point: HookPoint) -> ActivationHooks {
        let directions = specs.map { sae.decoderDirection($0.feature) }
        let needsEncoding = specs.contains { $0.mode == .scale }
        let hooks = ActivationHooks()
        hooks.add(point) { a in
            for t in 0..<a.rows {
                let row = a.row(t)
                let features = needsEncoding ? sae.encode(UnsafeBufferPointer(row)) : []
                for (spec, direction) in zip(specs, directions) {
                    let amount = spec.mode == .add ? spec.strength : spec.strength * features[spec.feature]
                    if amount == 0 { continue }
                    for i in 0..<a.width { row[i] += amount * direction[i] }
                }
            }
        }
        return hooks
    }

    /// Hooks that add Gaussian noise to every token at `point`: standard deviation `scale` times the
    /// token's root-mean-square activation, so one scale means the same at every layer.
    public static func noise(scale: Float, at point: HookPoint, seed: UInt64) -> ActivationHooks {
        var rng = SeededGenerator(seed: seed)
        let hooks = ActivationHooks()
        hooks.add(point) { a in
            for t in 0..<a.rows {
                let row = a.row(t)
                var sumSquares: Float = 0
                for v in row { sumSquares += v * v }
                let sigma = scale * (sumSquares / Float(a.width)).squareRoot()
                for i in 0..<a.width { row[i] += sigma * gaussian(&rng) }
            }
        }
        return hooks
    }

    /// Standard normal by Box-Muller.
    static func gaussian(_ rng: inout SeededGenerator) -> Float {
        let u1 = max(Float(rng.next() >> 40) / 16_777_216, 1e-7)
        let u2 = Float(rng.next() >> 40) / 16_777_216
        return (-2 * logf(u1)).squareRoot() * cosf(2 * .pi * u2)
    }

    /// Runs `body` on an engine of its own whose forward passes run `hooks` (a cache filled under
    /// other activations must not be reused); the model itself is not changed.
    public static func with<T>(_ hooks: ActivationHooks?, on loaded: LoadedModel, contextLength: Int,
                               _ body: (InProcessEngine) throws -> T) throws -> T {
        try body(InProcessEngine(model: loaded, contextLength: contextLength, hooks: hooks))
    }
}

/// What a technique is run on: a chat turn (with optional system prompt and prefill) or raw text.
public enum GenerationInput: Codable, Sendable, Equatable {
    case chat(messages: [ChatMessage], system: String?, prefill: String)
    case raw(String)

    public func run(settings: GenerationSettings, engine: any TextEngine,
                    onText: (String) -> Bool = { _ in true }) throws -> GenerationRecord {
        switch self {
        case .chat(let messages, let system, let prefill):
            return try ChatTurn.run(messages: messages, system: system, prefill: prefill, settings: settings,
                                    engine: engine, onText: onText)
        case .raw(let text):
            return try RawCompletion.run(text, settings: settings, engine: engine, onText: onText)
        }
    }
}

/// The steered sample beside the unsteered one, same seed.
public struct SteeringComparison: Codable, Sendable {
    public var hook: String
    public var specs: [SteeringSpec]
    public var steered: GenerationRecord
    public var baseline: GenerationRecord
}

public enum Steering {
    public static func compare(_ input: GenerationInput, specs: [SteeringSpec], sae: SparseAutoencoder,
                               settings: GenerationSettings, model: LoadedModel) throws -> SteeringComparison {
        guard let point = sae.hookPoint else {
            throw SAEError("the SAE's hook '\(sae.hookName ?? "none")' is not a hook point of this model")
        }
        for s in specs where s.feature < 0 || s.feature >= sae.dSAE {
            throw SAEError("feature \(s.feature) is outside 0..<\(sae.dSAE)")
        }
        let context = model.model.trainedContextLength
        let baseline = try ActivationEdits.with(nil, on: model, contextLength: context) {
            try input.run(settings: settings, engine: $0)
        }
        let steered = try ActivationEdits.with(ActivationEdits.steering(specs, sae: sae, at: point), on: model, contextLength: context) {
            try input.run(settings: settings, engine: $0)
        }
        return SteeringComparison(hook: point.name, specs: specs, steered: steered, baseline: baseline)
    }
}

/// Activation fuzzing: noise at one layer while sampling, many samples, a pattern count.
public enum Fuzzing {
    public static func run(_ input: GenerationInput, at point: HookPoint, scale: Float, samples: Int,
                           pattern: String?, caseSensitive: Bool = false, settings: GenerationSettings, model: LoadedModel,
                           onSample: (Int, GenerationRecord) -> Bool = { _, _ in true }) throws -> SampleSet {
        guard point.layer < model.model.layerCount else {
            throw ActivationCapture.Failure.layerOutOfRange(point.layer, layers: model.model.layerCount)
        }
        return try MultiSample.run(count: samples, settings: settings, pattern: pattern, caseSensitive: caseSensitive, one: { s in
            // Each sample draws its own noise from its own seed.
            try ActivationEdits.with(ActivationEdits.noise(scale: scale, at: point, seed: s.sampling.seed ^ 0x9E37_79B9),
                                     on: model, contextLength: model.model.trainedContextLength) {
                try input.run(settings: s, engine: $0)
            }
        }, onSample: onSample)
    }
}
