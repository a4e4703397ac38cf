import Foundation
import Model
import Techniques
import TestSupport
import XCTest

final class MultiSampleTests: XCTestCase {
    func testSeedsAdvanceAndMatchesAreCounted() throws {
        let settings = GenerationSettings(sampling: SamplingParameters(temperature: 1, seed: 10), maxTokens: 4)
        let texts = ["The reward model likes it", "nothing here", "REWARD hacking", "fine"]
        var seeds: [UInt64] = []
        let set = try MultiSample.run(count: 4, settings: settings, pattern: "reward") { s in
            seeds.append(s.sampling.seed)
            let i = seeds.count - 1
            return GenerationRecord(prompt: "p", promptIDs: [], ids: [], text: texts[i], stopReason: .maxTokens, settings: s)
        }
        XCTAssertEqual(seeds, [10, 11, 12, 13])
        XCTAssertEqual(set.matching, [0, 2])
        XCTAssertEqual(set.matchSummary, "2/4 match /reward/")
    }

    func testABadPatternIsAClearError() {
        XCTAssertThrowsError(try MultiSample.compile("(unclosed")) { XCTAssertTrue("\($0)".contains("invalid pattern /(unclosed/")) }
    }
}

/// Steering and fuzzing on the real model with a tiny SAE written by the test.
final class InterventionTests: XCTestCase {
    var directories: [URL] = []

    override func tearDown() {
        for d in directories { try? FileManager.default.removeItem(at: d) }
    }

    func model() throws -> LoadedModel { try DefaultModel.loaded() }

    func sae() throws -> SparseAutoencoder {
        let dir = try SAEFixture.directory()
        directories.append(dir)
        let tensors = SAEFixture.tensors(dIn: 576, dSAE: 16, dtype: "F32", jumprelu: false)
        try SAEFixture.write(dir, config: SAEFixture.config(dSAE: 16, architecture: "standard", applyBDec: true),
                             weights: SAEFixture.safetensors(tensors))
        return try SparseAutoencoder.load(directory: dir.path, expectedDIn: 576)
    }

    let input = GenerationInput.chat(messages: [ChatMessage(role: "user", content: "Name a fruit.")], system: nil, prefill: "")
    let settings = GenerationSettings(sampling: .greedy, maxTokens: 12)

    func testZeroStrengthChangesNothingAndStrongSteeringChangesTheText() throws {
        let m = try model(), sae = try sae()
        for mode in SteeringSpec.Mode.allCases {
            let none = try Steering.compare(input, specs: [SteeringSpec(feature: 3, strength: 0, mode: mode)], sae: sae, settings: settings, model: m)
            XCTAssertEqual(none.steered.ids, none.baseline.ids, "\(mode) with strength 0")
        }
        let strong = try Steering.compare(input, specs: [SteeringSpec(feature: 3, strength: 200, mode: .add)], sae: sae, settings: settings, model: m)
        XCTAssertNotEqual(strong.steered.ids, strong.baseline.ids)
        XCTAssertEqual(strong.hook, "blocks.15.hook_resid_post")
        // Steering ran on an engine of its own: the model itself is unchanged.
        let after = try input.run(settings: settings, engine: InProcessEngine(model: m, contextLength: 256))
        XCTAssertEqual(after.ids, strong.baseline.ids, "a plain run after steering is the baseline")
    }

    func testScaleModeMovesAnActiveFeature() throws {
        let m = try model(), sae = try sae()
        // Pick the feature most active on the prompt's last token, then ablate it and amplify it.
        let reading = try ActivationCapture.read("Name a fruit.", at: .residPost(15), model: m)
        let f = sae.encode(reading.perToken.last!)
        let top = try XCTUnwrap(f.indices.max { f[$0] < f[$1] })
        XCTAssertGreaterThan(f[top], 0)
        let boosted = try Steering.compare(input, specs: [SteeringSpec(feature: top, strength: 20, mode: .scale)], sae: sae, settings: settings, model: m)
        XCTAssertNotEqual(boosted.steered.ids, boosted.baseline.ids)
    }

    func testOutOfRangeFeatureIsAnError() throws {
        XCTAssertThrowsError(try Steering.compare(input, specs: [SteeringSpec(feature: 16, strength: 1, mode: .add)], sae: try sae(), settings: settings, model: try model())) {
            XCTAssertTrue("\($0)".contains("outside 0..<16"), "\($0)")
        }
    }

    func testFuzzingWithoutNoiseIsPlainSamplingAndNoiseChangesIt() throws {
        let m = try model()
        let sampled = GenerationSettings(sampling: SamplingParameters(temperature: 0.8, seed: 5), maxTokens: 10)
        let quiet = try Fuzzing.run(input, at: .residPost(15), scale: 0, samples: 3, pattern: "a", settings: sampled, model: m)
        for (i, record) in quiet.samples.enumerated() {
            var s = sampled
            s.sampling.seed = 5 + UInt64(i)
            let plain = try input.run(settings: s, engine: InProcessEngine(model: m, contextLength: 256))
            XCTAssertEqual(record.ids, plain.ids, "sample \(i)")
        }
        let noisy = try Fuzzing.run(input, at: .residPost(15), scale: 2, samples: 3, pattern: nil, settings: sampled, model: m)
        XCTAssertNotEqual(noisy.samples.map(\.ids), quiet.samples.map(\.ids))
    }
}

final class PersonaTests: XCTestCase {
    func model() throws -> LoadedModel { try DefaultModel.loaded() }

    func testUserTurnOpensAUserTurnAfterTheConversation() throws {
        let m = try model()
        let conversation = [ChatMessage(role: "user", content: "Hi"), ChatMessage(role: "assistant", content: "Hello! Chocolate?")]
        let p = try Persona.prompt(.user, conversation: conversation, system: "Be brief.", text: "Why", format: m.format)
        XCTAssertEqual(p, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello! Chocolate?<|im_end|>\n<|im_start|>user\nWhy")
        let r = try Persona.run(.user, conversation: conversation, settings: GenerationSettings(sampling: .greedy, maxTokens: 16),
                                engine: InProcessEngine(model: m, contextLength: 256))
        XCTAssertFalse(r.text.isEmpty)
        XCTAssertFalse(r.text.contains("<|im_start|>"))
    }

    func testNarratorIsRawTextAndEmptyStartsFromTheBeginningToken() throws {
        let m = try model()
        XCTAssertEqual(try Persona.prompt(.narrator, conversation: [], system: nil, text: "The root cause is", format: m.format), "The root cause is")
        let empty = try Persona.run(.empty, conversation: [], settings: GenerationSettings(sampling: SamplingParameters(temperature: 1, seed: 3), maxTokens: 8),
                                    engine: InProcessEngine(model: m, contextLength: 64))
        XCTAssertEqual(empty.promptIDs, [m.tokenizer.bosID!])
        XCTAssertEqual(empty.ids.count, 8)
    }
}
