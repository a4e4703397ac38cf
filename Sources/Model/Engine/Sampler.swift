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
    /// Scratch of the radix sort (top-k off): keys and ids for each pass.
    private var sortKeys: [UInt32]
    private var sortScratch: (keys: [UInt32], ids: [Int32])

    public init(parameters: SamplingParameters, vocabularySize: Int) {
        self.parameters = parameters
        rng = SeededGenerator(seed: parameters.seed)
        ids = [Int32](repeating: 0, count: vocabularySize)
        values = [Float](repeating: 0, count: vocabularySize)
        seen = [Bool](repeating: false, count: vocabularySize)
        sortKeys = []
        sortScratch = ([], [])
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
                drawn = nil
                if p.topK > 0 && p.topK < n {
                    // The top k in descending order of logit.
                    return pick(values, ids, count: selectTop(values, ids, n: n, k: p.topK), complete: true)!
                }
                // Top-k off: every token is a candidate, but only those within 17 × max(1, T) of
                // the best can change a sum or a draw (each other term of the softmax is under half
                // an ulp of a sum that is at least 1). Those are ordered first; the whole vocabulary
                // only when a draw reaches past them. The result is the full order's, exactly.
                let near = selectNear(values, ids, n: n, margin: 17 * max(1, p.temperature))
                if near < n, let token = pick(values, ids, count: near, complete: false) { return token }
                Sampler.sortDescending(UnsafeBufferPointer(values), n: n, into: ids, keys: &sortKeys, scratch: &sortScratch)
                return pick(values, ids, count: n, complete: true)!
            }
        }
    }

    /// The draw of this token, once made (a second pass over the full order reuses it).
    private var drawn: Float?

    /// Top-p, min-p, temperature and the draw over the candidates ids[0..<count], in descending
    /// order of logit (llama.cpp's order of steps). With `complete` false the candidates are only
    /// the ones that can matter: nil when the draw would need the others (a nucleus not reached,
    /// a min-p threshold below them, a draw past them).
    private func pick(_ values: UnsafeMutableBufferPointer<Float>, _ ids: UnsafeMutableBufferPointer<Int32>, count: Int,
                      complete: Bool) -> TokenID? {
        let p = parameters
        var kept = count
        // Probabilities before temperature, for top-p and min-p.
        if p.topP < 1 || p.minP > 0 {
            let maxLogit = values[Int(ids[0])]
            var sum: Float = 0
            for j in 0..<count {
                let term = expf(values[Int(ids[j])] - maxLogit)
                // Descending order: once a term is under half the sum's ulp, it and every later one
                // leave the sum as it is (exactly).
                if term < sum.ulp / 2 { break }
                sum += term
            }
            if p.topP < 1 {
                var cumulative: Float = 0
                var reached = false
                for j in 0..<count {
                    cumulative += expf(values[Int(ids[j])] - maxLogit) / sum
                    if cumulative >= p.topP { kept = j + 1; reached = true; break }
                }
                if !reached && !complete { return nil }
            }
            if p.minP > 0 {
                let threshold = maxLogit + logf(p.minP)
                var j = 1
                while j < kept, values[Int(ids[j])] >= threshold { j += 1 }
                if j == count && !complete { return nil }
                kept = j
            }
        }
        // Temperature, softmax, draw.
        let maxLogit = values[Int(ids[0])] / p.temperature
        var sum: Float = 0
        for j in 0..<kept { sum += expf(values[Int(ids[j])] / p.temperature - maxLogit) }
        if drawn == nil { drawn = rng.unitFloat() }
        var r = drawn! * sum
        for j in 0..<kept {
            r -= expf(values[Int(ids[j])] / p.temperature - maxLogit)
            if r < 0 { return ids[j] }
        }
        return complete ? ids[kept - 1] : nil
    }

    /// Writes into ids[0..<m] the tokens whose value is at least the best minus `margin`, in
    /// descending order (ties: lower id first), and returns m.
    private func selectNear(_ values: UnsafeMutableBufferPointer<Float>, _ ids: UnsafeMutableBufferPointer<Int32>, n: Int, margin: Float) -> Int {
        var best = values[0]
        for i in 1..<n where values[i] > best { best = values[i] }
        let floor = best - margin
        var m = 0
        for i in 0..<n where values[i] >= floor {
            ids[m] = Int32(i)
            m += 1
        }
        Sampler.sortDescending(UnsafeBufferPointer(values), candidates: m, into: ids, keys: &sortKeys, scratch: &sortScratch)
        return m
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

    /// Writes 0..<n into `ids` ordered by descending value, ties by lower id first, as a stable LSD
    /// radix sort (11, 11 and 10 bits) on keys that order floats as `>` does (-0 and +0 equal).
    /// `keys` and `scratch` are reused buffers (grown once).
    static func sortDescending(_ values: UnsafeBufferPointer<Float>, n: Int, into ids: UnsafeMutableBufferPointer<Int32>,
                               keys: inout [UInt32], scratch: inout (keys: [UInt32], ids: [Int32])) {
        for i in 0..<n { ids[i] = Int32(i) }
        sortDescending(values, candidates: n, into: ids, keys: &keys, scratch: &scratch)
    }

    /// Orders the `n` token ids in ids[0..<n] (given in ascending order) by descending value, ties
    /// by lower id first.
    static func sortDescending(_ values: UnsafeBufferPointer<Float>, candidates n: Int, into ids: UnsafeMutableBufferPointer<Int32>,
                               keys: inout [UInt32], scratch: inout (keys: [UInt32], ids: [Int32])) {
        guard n > 1 else { return }
        if keys.count < n { keys = [UInt32](repeating: 0, count: n) }
        if scratch.keys.count < n { scratch = ([UInt32](repeating: 0, count: n), [Int32](repeating: 0, count: n)) }
        for i in 0..<n {
            let v = values[Int(ids[i])]
            let bits = v == 0 ? 0 : v.bitPattern
            // Ascending order of floats as unsigned keys, then inverted for descending.
            let ascending = bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
            keys[i] = ~ascending
        }
        var counts = [Int](repeating: 0, count: 2048)
        keys.withUnsafeMutableBufferPointer { k in
            scratch.keys.withUnsafeMutableBufferPointer { k2 in
                scratch.ids.withUnsafeMutableBufferPointer { i2 in
                    counts.withUnsafeMutableBufferPointer { c in
                        var (srcK, srcI, dstK, dstI) = (k, ids, k2, i2)
                        for (shift, width) in [(UInt32(0), 11), (11, 11), (22, 10)] {
                            let mask = UInt32((1 << width) - 1)
                            for b in 0..<(1 << width) { c[b] = 0 }
                            for i in 0..<n { c[Int((srcK[i] >> shift) & mask)] += 1 }
                            var total = 0
                            for b in 0..<(1 << width) { let x = c[b]; c[b] = total; total += x }
                            for i in 0..<n {
                                let b = Int((srcK[i] >> shift) & mask)
                                dstK[c[b]] = srcK[i]
                                dstI[c[b]] = srcI[i]
                                c[b] += 1
                            }
                            swap(&srcK, &dstK)
                            swap(&srcI, &dstI)
                        }
                        // Three passes leave the result in the scratch buffers.
                        for i in 0..<n { ids[i] = srcI[i] }
                    }
                }
            }
        }
    }
}
