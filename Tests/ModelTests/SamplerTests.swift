@testable import Model
import XCTest

final class SamplerTests: XCTestCase {
    func logits(_ values: [Float]) -> [Float] { values }

    func sample(_ values: [Float], _ p: SamplingParameters, history: [TokenID] = []) -> TokenID {
        let s = Sampler(parameters: p, vocabularySize: values.count)
        return values.withUnsafeBufferPointer { s.sample($0, history: history[...]) }
    }

    func testGreedyIsArgmaxWithLowestIdOnTies() {
        XCTAssertEqual(sample([1, 5, 3, 5, -2], .greedy), 1)
        XCTAssertEqual(sample([-1, -0.5, -3], .greedy), 1)
    }

    func testTopKOneIsGreedyAtAnyTemperature() {
        var p = SamplingParameters(temperature: 5, topK: 1, topP: 1, minP: 0)
        for seed in 0..<20 as Range<UInt64> {
            p.seed = seed
            XCTAssertEqual(sample([0.1, 2, 1.9, 0], p), 1)
        }
    }

    func testSameSeedSameSequenceDifferentSeedsDiffer() {
        let values = (0..<100).map { Float(sin(Double($0))) }
        func sequence(_ seed: UInt64) -> [TokenID] {
            let s = Sampler(parameters: SamplingParameters(temperature: 1, topK: 0, topP: 1, minP: 0, seed: seed), vocabularySize: 100)
            return values.withUnsafeBufferPointer { buf in (0..<50).map { _ in s.sample(buf) } }
        }
        XCTAssertEqual(sequence(7), sequence(7))
        XCTAssertNotEqual(sequence(7), sequence(8))
    }

    func testTemperatureOneFollowsTheSoftmax() {
        // p = softmax([0, ln 3]) = [0.25, 0.75]
        let s = Sampler(parameters: SamplingParameters(temperature: 1, topK: 0, topP: 1, minP: 0, seed: 1), vocabularySize: 2)
        let values: [Float] = [0, logf(3)]
        var ones = 0
        values.withUnsafeBufferPointer { buf in for _ in 0..<20_000 where s.sample(buf) == 1 { ones += 1 } }
        XCTAssertEqual(Double(ones) / 20_000, 0.75, accuracy: 0.02)
    }

    func testTopPKeepsTheSmallestNucleus() {
        // probabilities ~ [0.64, 0.24, 0.09, 0.03]: top-p 0.8 keeps ids 0 and 1 only.
        let values: [Float] = [3, 2, 1, 0]
        let s = Sampler(parameters: SamplingParameters(temperature: 1, topK: 0, topP: 0.8, minP: 0, seed: 3), vocabularySize: 4)
        var seen = Set<TokenID>()
        values.withUnsafeBufferPointer { buf in for _ in 0..<2000 { seen.insert(s.sample(buf)) } }
        XCTAssertEqual(seen, [0, 1])
    }

    func testMinPDropsUnlikelyTokens() {
        // p(2)/p(0) = e^-2 = 0.135 < 0.2: dropped; p(1)/p(0) = e^-1 = 0.37 kept.
        let values: [Float] = [2, 1, 0]
        let s = Sampler(parameters: SamplingParameters(temperature: 1, topK: 0, topP: 1, minP: 0.2, seed: 5), vocabularySize: 3)
        var seen = Set<TokenID>()
        values.withUnsafeBufferPointer { buf in for _ in 0..<2000 { seen.insert(s.sample(buf)) } }
        XCTAssertEqual(seen, [0, 1])
    }

    func testRepetitionPenaltyDividesPositiveAndMultipliesNegative() {
        // Token 0 (logit 2) penalised by 4 -> 0.5 < token 1's 1.0: greedy moves to 1.
        XCTAssertEqual(sample([2, 1, -1], SamplingParameters(temperature: 0, repetitionPenalty: 4), history: [0]), 1)
        // A negative logit is made more negative, never promoted.
        XCTAssertEqual(sample([-1, -2], SamplingParameters(temperature: 0, repetitionPenalty: 4), history: [1]), 0)
        // Only the window counts.
        XCTAssertEqual(sample([2, 1], SamplingParameters(temperature: 0, repetitionPenalty: 4, repetitionWindow: 1), history: [0, 1]), 0)
    }
}

/// The radix sort behind sampling with top-k off gives exactly the comparison sort's order.
final class SamplerSortTests: XCTestCase {
    func testRadixOrderIsTheComparisonOrder() {
        var rng = SystemRandomNumberGenerator()
        for trial in 0..<40 {
            let n = trial < 4 ? [1, 2, 7, 2049][trial] : Int.random(in: 1...5000, using: &rng)
            // Ties, both zeros, negatives, infinities and values that share high bits.
            let pool: [Float] = [0, -0.0, 1, -1, 3.5, -3.5, .infinity, -.infinity, 1e-30, -1e-30, 12.25, 12.250001]
            let values: [Float] = (0..<n).map { _ in Bool.random(using: &rng) ? pool.randomElement(using: &rng)! : Float.random(in: -30...30, using: &rng) }
            var ids = [Int32](repeating: -1, count: n)
            var keys: [UInt32] = [], scratch: (keys: [UInt32], ids: [Int32]) = ([], [])
            values.withUnsafeBufferPointer { v in
                ids.withUnsafeMutableBufferPointer { Sampler.sortDescending(v, n: n, into: $0, keys: &keys, scratch: &scratch) }
            }
            let reference = (0..<Int32(n)).sorted { a, b in
                let va = values[Int(a)], vb = values[Int(b)]
                return va > vb || (va == vb && a < b)
            }
            XCTAssertEqual(ids, reference, "n \(n)")
        }
    }
}

/// Sampling with top-k off orders only the tokens that can matter; the draws must be exactly those
/// of the full order. The reference here is the sampler as it was (every token sorted by comparison).
final class SamplerReferenceTests: XCTestCase {
    func reference(_ logits: [Float], _ p: SamplingParameters, _ rng: inout SeededGenerator) -> TokenID {
        let n = logits.count
        let ids: [Int32] = (0..<Int32(n)).sorted { (a: Int32, b: Int32) -> Bool in
            let va = logits[Int(a)], vb = logits[Int(b)]
            return va > vb || (va == vb && a < b)
        }
        var kept = n
        let maxLogit = logits[Int(ids[0])]
        if p.topP < 1 || p.minP > 0 {
            var sum: Float = 0
            for j in 0..<n { sum += expf(logits[Int(ids[j])] - maxLogit) }
            if p.topP < 1 {
                var cumulative: Float = 0
                for j in 0..<n {
                    cumulative += expf(logits[Int(ids[j])] - maxLogit) / sum
                    if cumulative >= p.topP { kept = j + 1; break }
                }
            }
            if p.minP > 0 {
                let threshold = maxLogit + logf(p.minP)
                var j = 1
                while j < kept, logits[Int(ids[j])] >= threshold { j += 1 }
                kept = j
            }
        }
        let m = maxLogit / p.temperature
        var sum: Float = 0
        for j in 0..<kept { sum += expf(logits[Int(ids[j])] / p.temperature - m) }
        var r = rng.unitFloat() * sum
        for j in 0..<kept {
            r -= expf(logits[Int(ids[j])] / p.temperature - m)
            if r < 0 { return ids[j] }
        }
        return ids[kept - 1]
    }

    func testTopKOffDrawsAreTheFullOrdersDraws() {
        var source = SeededGenerator(seed: 7)
        for trial in 0..<60 {
            let n = [50, 300, 4000][trial % 3]
            // Broad and peaked distributions, with ties.
            let spread = Float([2, 8, 30][trial % 3])
            let logits = (0..<n).map { _ in (Float(source.unitFloat()) * spread).rounded(.down) / (trial % 2 == 0 ? 1 : 3) }
            let settings: [(Float, Float, Float)] = [(0.8, 0.95, 0.05), (1.0, 1.0, 0), (2.0, 1.0, 0), (0.7, 0.5, 0), (1.5, 1.0, 1e-9), (1.0, 0.9999, 0)]
            let (t, topP, minP) = settings[trial % settings.count]
            let p = SamplingParameters(temperature: t, topK: 0, topP: topP, minP: minP, seed: UInt64(trial))
            let sampler = Sampler(parameters: p, vocabularySize: n)
            var rng = SeededGenerator(seed: UInt64(trial))
            for draw in 0..<20 {
                let got = logits.withUnsafeBufferPointer { sampler.sample($0) }
                XCTAssertEqual(got, reference(logits, p, &rng), "trial \(trial) draw \(draw) (T \(t), top-p \(topP), min-p \(minP))")
            }
        }
    }
}
