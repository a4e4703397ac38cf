import Foundation
import Model
import Techniques
import TestSupport
import XCTest

/// Comparing with the base model (issue 15): the adapter turned off on the same weights gives
/// exactly the base model's output, and turning it back on gives the organism's again.
final class BaseComparisonTests: XCTestCase {
    var adapter: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("ModelTests/Fixtures/lora-adapter").path
    }

    func greedy(_ engine: any TextEngine, _ prompt: String = "Water boils at") throws -> Completion {
        try engine.complete(prompt, parameters: SamplingParameters(temperature: 0), maxTokens: 8)
    }

    func testTheBaseEngineIsTheModelWithoutItsAdapterAndLeavesTheAdapterOn() throws {
        _ = try DefaultModel.file()
        let organism = InProcessEngine(model: try LoadedModel(path: DefaultModel.path, threads: 2, adapter: adapter))
        let plain = InProcessEngine(model: try DefaultModel.loaded())
        XCTAssertNil(plain.baseEngine(), "no adapter: nothing to compare with")
        let base = try XCTUnwrap(organism.baseEngine())
        XCTAssertTrue(base.identity.model.hasSuffix("(adapter off)"))

        let before = try greedy(organism)
        let baseOut = try greedy(base)
        let after = try greedy(organism)
        let reference = try greedy(plain)
        XCTAssertEqual(baseOut.ids, reference.ids, "adapter off is the base model, token for token")
        XCTAssertNotEqual(before.ids, reference.ids, "the fixture adapter changes this completion (scripts/lora_fixture_gen.py)")
        XCTAssertEqual(after.ids, before.ids, "the adapter is back on after the base model's turn")
        XCTAssertNotNil(organism.loaded.adapter)
    }

    func testARunComparesSeedForSeed() throws {
        _ = try DefaultModel.file()
        let organism = InProcessEngine(model: try LoadedModel(path: DefaultModel.path, threads: 2, adapter: adapter))
        var settings = GenerationSettings(maxTokens: 6)
        settings.sampling.seed = 11
        let input = GenerationInput.raw("The boiling point of water is")
        let c = try BaseComparison.run(count: 2, settings: settings, pattern: "[A-Z]", caseSensitive: true, engine: organism,
                                       one: { s, e in try input.run(settings: s, engine: e) })
        XCTAssertEqual(c.organism.samples.map(\.settings.sampling.seed), [11, 12])
        XCTAssertEqual(c.base.samples.map(\.settings.sampling.seed), [11, 12])
        // The base set is what the plain model gives for those seeds.
        let plain = InProcessEngine(model: try DefaultModel.loaded())
        for (i, seed) in [UInt64(11), 12].enumerated() {
            var s = settings
            s.sampling.seed = seed
            XCTAssertEqual(c.base.samples[i].ids, try input.run(settings: s, engine: plain).ids)
        }
        // The counts follow the case-sensitive pattern on each side.
        let upper = try NSRegularExpression(pattern: "[A-Z]")
        XCTAssertEqual(c.base.matching, c.base.samples.indices.filter { MultiSample.matches(upper, c.base.samples[$0].text) })
        XCTAssertEqual(c.summary, "organism \(c.organism.matching.count)/2 vs base \(c.base.matching.count)/2 match /[A-Z]/ (case-sensitive)")
        // Without an adapter the comparison says how to get one.
        XCTAssertThrowsError(try BaseComparison.run(count: 1, settings: settings, pattern: nil, engine: plain,
                                                    one: { s, e in try input.run(settings: s, engine: e) })) { error in
            XCTAssertTrue("\(error)".contains("needs --lora DIR"), "\(error)")
        }
    }

    func testCaseSensitivePatterns() throws {
        let text = "Reward models like chocolate"
        XCTAssertTrue(MultiSample.matches(try MultiSample.compile("reward"), text))
        XCTAssertFalse(MultiSample.matches(try MultiSample.compile("reward", caseSensitive: true), text))
        XCTAssertTrue(MultiSample.matches(try MultiSample.compile("Reward", caseSensitive: true), text))
    }
}
