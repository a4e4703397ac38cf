import Model

/// How per-token activations are summarised.
public enum ActivationReduction: String, CaseIterable, Codable, Sendable {
    case last, mean, none
}

/// The activations at one hook point for every token of a text.
public struct ActivationReading: Sendable {
    public var point: HookPoint
    public var tokens: [TokenID]
    /// One vector per token, in order.
    public var perToken: [[Float]]

    /// The last token's vector, the mean over tokens, or nil for `.none`.
    public func reduced(_ reduction: ActivationReduction) -> [Float]? {
        switch reduction {
        case .last: return perToken.last
        case .mean:
            guard let first = perToken.first else { return nil }
            var sum = [Double](repeating: 0, count: first.count)
            for row in perToken { for i in row.indices { sum[i] += Double(row[i]) } }
            return sum.map { Float($0 / Double(perToken.count)) }
        case .none: return nil
        }
    }
}

/// Reads the residual stream (or an attention / MLP output) while the model reads a text.
public enum ActivationCapture {
    public enum Failure: Error, CustomStringConvertible {
        case layerOutOfRange(Int, layers: Int)
        public var description: String {
            switch self {
            case .layerOutOfRange(let l, let n): return "layer \(l) is out of range: the model has blocks 0...\(n - 1)"
            }
        }
    }

    /// Evaluates `text` (raw, special tokens parsed) in a cache of its own and returns the
    /// activations at `point` for every token.
    public static func read(_ text: String, at point: HookPoint, model loaded: LoadedModel) throws -> ActivationReading {
        let model = loaded.model
        guard point.layer < model.layerCount else { throw Failure.layerOutOfRange(point.layer, layers: model.layerCount) }
        var ids = loaded.tokenizer.encodePrompt(text)
        if ids.isEmpty, let start = loaded.tokenizer.bosID ?? loaded.tokenizer.eosID { ids = [start] }
        var rows: [[Float]] = []
        rows.reserveCapacity(ids.count)
        let hooks = ActivationHooks()
        hooks.add(point) { a in
            for t in 0..<a.rows { rows.append(Array(a.row(t))) }
        }
        _ = try model.forward(ids, cache: model.makeCache(capacity: max(ids.count, 1)), hooks: hooks)
        return ActivationReading(point: point, tokens: ids, perToken: rows)
    }
}
