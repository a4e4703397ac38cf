import Foundation
import Model

/// How per-token SAE feature activations are summarised over a text.
public enum FeatureReduction: String, CaseIterable, Codable, Sendable {
    case max, sum, last
}

/// One feature of a sparse autoencoder and how strongly it fired.
public struct FeatureActivation: Sendable, Equatable, Codable {
    public var index: Int
    public var activation: Float
    /// From `labels.json` beside the SAE, if any.
    public var label: String?
    public init(index: Int, activation: Float, label: String? = nil) {
        self.index = index
        self.activation = activation
        self.label = label
    }
}

public struct FeatureReading: Sendable {
    public var point: HookPoint
    public var tokens: [TokenID]
    /// The strongest features, largest first (ties: lower index); only features above zero.
    public var features: [FeatureActivation]
}

/// Sparse-autoencoder features of a text, read at the SAE's own hook point.
public enum FeatureActivations {
    public enum Failure: Error, CustomStringConvertible {
        case noHookPoint(String?)
        case badLabels(String)
        public var description: String {
            switch self {
            case .noHookPoint(let name?): return "the SAE's hook '\(name)' is not a hook point of this workbench (blocks.L.hook_resid_pre|resid_post|attn_out|mlp_out)"
            case .noHookPoint(nil): return "the SAE's cfg.json names no hook (metadata.hook_name or hook_name)"
            case .badLabels(let why): return "labels.json: \(why)"
            }
        }
    }

    /// The `top` features of `text`, reduced over its tokens with position 0 left out (as `perToken`), so
    /// the CLI ranks as the Features pane and the RM-bias probe do.
    public static func compute(text: String, sae: SparseAutoencoder, model: LoadedModel,
                               reduce: FeatureReduction, top: Int) throws -> FeatureReading {
        let reading = try perToken(text: text, sae: sae, model: model, reduce: reduce)
        let labels = try loadLabels(directory: sae.directory)
        let features = topFeatures(reading.reduced, top: top).map {
            FeatureActivation(index: $0.index, activation: $0.activation, label: labels?[$0.index])
        }
        return FeatureReading(point: reading.point, tokens: reading.tokens, features: features)
    }

    /// The SAE's features on every token of `text`, and their reduction over the tokens with position 0
    /// left out: the attention sink's huge norm lights up features of its own (the feature index leaves it
    /// out too), so it only counts when it is the only token.
    public static func perToken(text: String, sae: SparseAutoencoder, model: LoadedModel,
                                reduce: FeatureReduction) throws -> (point: HookPoint, tokens: [TokenID], features: [[Float]], reduced: [Float]) {
        guard let point = sae.hookPoint else { throw Failure.noHookPoint(sae.hookName) }
        let capture = try ActivationCapture.read(text, at: point, model: model)
        let features = capture.perToken.map { sae.encode($0) }
        let ranked = features.count > 1 ? Array(features.dropFirst()) : features
        return (point, capture.tokens, features, reduction(ranked, reduce, width: sae.dSAE))
    }

    /// Max, sum or last over per-token feature vectors.
    public static func reduction(_ perToken: [[Float]], _ reduce: FeatureReduction, width: Int) -> [Float] {
        guard let last = perToken.last else { return [Float](repeating: 0, count: width) }
        switch reduce {
        case .last: return last
        case .max:
            var out = perToken[0]
            for row in perToken.dropFirst() { for i in out.indices where row[i] > out[i] { out[i] = row[i] } }
            return out
        case .sum:
            var out = [Double](repeating: 0, count: width)
            for row in perToken { for i in out.indices { out[i] += Double(row[i]) } }
            return out.map { Float($0) }
        }
    }

    /// The `top` largest positive values, largest first, ties to the lower index.
    public static func topFeatures(_ values: [Float], top: Int) -> [(index: Int, activation: Float)] {
        SparseAutoencoder.topIndices(values, max(0, top)).filter { values[$0] > 0 }.map { ($0, values[$0]) }
    }

    /// `labels.json` beside the SAE: `{"index": "label"}`; nil when there is none.
    public static func loadLabels(directory: URL) throws -> [Int: String]? {
        let url = directory.appendingPathComponent("labels.json")
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        guard let data = try? Data(contentsOf: url) else { throw Failure.badLabels("cannot read \(url.path)") }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw Failure.badLabels("not a JSON object")
        }
        var labels: [Int: String] = [:]
        for (key, value) in object {
            guard let i = Int(key), i >= 0 else { throw Failure.badLabels("key '\(key)' is not a feature index") }
            guard let s = value as? String else { throw Failure.badLabels("label for \(key) is not a string") }
            labels[i] = s
        }
        return labels
    }
}
