import Foundation

/// Sampling settings, applied in llama.cpp's order: repetition penalty, top-k, top-p, min-p,
/// then temperature and a draw from the seeded generator. Temperature 0 is greedy.
public struct SamplingParameters: Codable, Sendable, Equatable {
    public var temperature: Float = 0.8
    public var topK: Int = 40            // 0 = off
    public var topP: Float = 0.95        // 1 = off
    public var minP: Float = 0.05        // 0 = off
    public var repetitionPenalty: Float = 1.0  // 1 = off
    public var repetitionWindow: Int = 64
    public var seed: UInt64 = 0

    public init(temperature: Float = 0.8, topK: Int = 40, topP: Float = 0.95, minP: Float = 0.05,
                repetitionPenalty: Float = 1.0, repetitionWindow: Int = 64, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.repetitionPenalty = repetitionPenalty
        self.repetitionWindow = repetitionWindow
        self.seed = seed
    }

    public static let greedy = SamplingParameters(temperature: 0)
}

/// xoshiro256** seeded through SplitMix64: small, fast, and the same stream on every platform.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var x = seed
        func splitmix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitmix(), splitmix(), splitmix(), splitmix())
    }

    public mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = s.3 << 45 | s.3 >> 19
        return result
    }

    /// Uniform in [0, 1) with 24 bits, as a Float.
    mutating func unitFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }
}

/// Picks the next token from logits. Buffers are allocated once per vocabulary size, so sampling
/// allocates nothing per token.
public final class Sampler {
    public let parameters: SamplingParameters
    private var rng: SeededGenerator
    private var ids: [Int32]
    private var values: [Float]
    private var seen: [Bool]

    public init(parameters: SamplingParameters, vocabularySize: Int) {
        self.parameters = parameters
        rng = SeededGenerator(seed: parameters.seed)
        ids = [Int32](repeating: 0, count: vocabularySize)
        values = [Float](repeating: 0, count: vocabularySize)
        seen = [Bool](repeating: false, count: vocabularySize)
    }

    /// Samples one token. `logits` is modified only in the penalty step, in a private copy.
    public func sample(_ logits: UnsafeBufferPointer<Float>, history: ArraySlice<TokenID> = []) -> TokenID {
        let p = parameters
        let n = logits.count
        if ids.count < n {
            ids = [Int32](repeating: 0, count: n)
            values = [Float](repeating: 0, count: n)
            seen = [Bool](repeating: false, count: n)
        }
        return ids.withUnsafeMutableBufferPointer { ids in
            values.withUnsafeMutableBufferPointer { values in
                for i in 0..<n { values[i] = logits[i] }
                if p.repetitionPenalty != 1, p.repetitionWindow > 0 {
                    applyPenalty(values, history: history.suffix(p.repetitionWindow))
                }
                if p.temperature <= 0 {
                    var best = 0
                    for i in 1..<n where values[i] > values[best] { best = i }
                    return TokenID(best)
                }
                // Candidates: the top k (or all) in descending order of logit.
                let count = selectTop(values, ids, n: n, k: p.topK > 0 ? min(p.topK, n) : n)
                // Probabilities before temperature, for top-p and min-p (llama.cpp's order).
                var kept = count
                if p.topP < 1 || p.minP > 0 {
                    let maxLogit = values[Int(ids[0])]
                    var sum: Float = 0
                    for j in 0..<count { sum += expf(values[Int(ids[j])] - maxLogit) }
                    if p.topP < 1 {
                        var cumulative: Float = 0
                        for j in 0..<count {
                            cumulative += expf(values[Int(ids[j])] - maxLogit) / sum
                            if cumulative >= p.topP { kept = j + 1; break }
                        }
                    }
                    if p.minP > 0 {
                        let threshold = maxLogit + logf(p.minP)
                        var j = 1
                        while j < kept, values[Int(ids[j])] >= threshold { j += 1 }
                        kept = j
                    }
                }
                // Temperature, softmax, draw.
                let maxLogit = values[Int(ids[0])] / p.temperature
                var sum: Float = 0
                for j in 0..<kept { sum += expf(values[Int(ids[j])] / p.temperature - maxLogit) }
                var r = rng.unitFloat() * sum
                for j in 0..<kept {
                    r -= expf(values[Int(ids[j])] / p.temperature - maxLogit)
                    if r < 0 { return ids[j] }
                }
                return ids[kept - 1]
            }
        }
    }

    /// llama.cpp's penalty: divide positive logits, multiply negative ones, once per distinct token.
    private func applyPenalty(_ values: UnsafeMutableBufferPointer<Float>, history: ArraySlice<TokenID>) {
        let penalty = parameters.repetitionPenalty
        for id in history where id >= 0 && Int(id) < values.count && !seen[Int(id)] {
            seen[Int(id)] = true
            let v = values[Int(id)]
            values[Int(id)] = v > 0 ? v / penalty : v * penalty
        }
        for id in history where id >= 0 && Int(id) < values.count { seen[Int(id)] = false }
    }

    /// Writes the indices of the k largest values into ids[0..<k], sorted descending (ties: lower id first).
    private func selectTop(_ values: UnsafeMutableBufferPointer<Float>, _ ids: UnsafeMutableBufferPointer<Int32>, n: Int, k: Int) -> Int {
        func before(_ a: Int32, _ b: Int32) -> Bool {
            let va = values[Int(a)], vb = values[Int(b)]
            return va > vb || (va == vb && a < b)
        }
        if k >= n {
            for i in 0..<n { ids[i] = Int32(i) }
            var all = ids
            all.sort(by: before)
            return n
        }
        // Keep a sorted window of the best k; most logits fall below its last entry and cost one compare.
        var filled = 0
        for i in 0..<n {
            let id = Int32(i)
            if filled == k {
                if !before(id, ids[k - 1]) { continue }
                filled -= 1
            }
            var j = filled
            while j > 0, before(id, ids[j - 1]) {
                ids[j] = ids[j - 1]
                j -= 1
            }
            ids[j] = id
            filled += 1
        }
        return k
    }
}
