import Model
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
