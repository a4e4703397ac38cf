import Model
import TestSupport
import XCTest

final class GeneratorTests: XCTestCase {
    func model() throws -> LoadedModel { try DefaultModel.loaded() }

    /// Reusing a cached prefix gives exactly the logits of evaluating from scratch.
    func testPrefixReuseIsExact() throws {
        let m = try model()
        let a = m.tokenizer.encode("The capital of France is Paris. The capital of Italy is")
        let b = m.tokenizer.encode("The capital of France is Paris. The capital of Spain is")
        let g = Generator(model: m, contextLength: 256)
        _ = try g.evaluate(a)
        let reused = Array(try g.evaluate(b))
        let common = zip(a, b).prefix { $0 == $1 }.count
        XCTAssertEqual(g.lastEvaluatedCount, b.count - common)
        let fresh = Array(try Generator(model: m, contextLength: 256).evaluate(b))
        XCTAssertEqual(reused, fresh)
    }

    func testContextOverflowIsAClearErrorAndTheGeneratorStaysUsable() throws {
        let m = try model()
        let g = Generator(model: m, contextLength: 32)
        let long = [TokenID](repeating: 1000, count: 40)
        XCTAssertThrowsError(try g.evaluate(long)) { error in
            XCTAssertEqual(error as? EngineError, .contextOverflow(needed: 40, limit: 32))
            XCTAssertTrue("\(error)".contains("context overflow"))
        }
        XCTAssertNoThrow(try g.evaluate([1000, 1001]))
    }

    func testGenerationStopsWhenTheContextIsFull() throws {
        let m = try model()
        let g = Generator(model: m, contextLength: 20)
        let r = try g.generate(prompt: m.tokenizer.encode("Once upon a time"), parameters: .greedy, maxTokens: 100, stopAtEndOfGeneration: false)
        XCTAssertEqual(r.stopReason, .contextFull)
        XCTAssertLessThanOrEqual(r.ids.count + 4, 21)
    }

    func testEmptyPromptAndBadTokenIdsAreErrors() throws {
        let m = try model()
        let g = Generator(model: m, contextLength: 32)
        XCTAssertThrowsError(try g.evaluate([])) { XCTAssertEqual($0 as? EngineError, .emptyInput) }
        XCTAssertThrowsError(try g.evaluate([1, 999_999])) {
            XCTAssertEqual($0 as? EngineError, .tokenOutOfRange(999_999, vocabularySize: 49152))
        }
    }

    func testSeededSamplingIsReproducibleAndCancellationStops() throws {
        let m = try model()
        let p = SamplingParameters(temperature: 1.0, seed: 11)
        let prompt = m.tokenizer.encode("My favourite animal is")
        let a = try Generator(model: m, contextLength: 64).generate(prompt: prompt, parameters: p, maxTokens: 12, stopAtEndOfGeneration: false)
        let b = try Generator(model: m, contextLength: 64).generate(prompt: prompt, parameters: p, maxTokens: 12, stopAtEndOfGeneration: false)
        XCTAssertEqual(a.ids, b.ids)
        XCTAssertEqual(a.ids.count, 12)
        var n = 0
        let c = try Generator(model: m, contextLength: 64).generate(prompt: prompt, parameters: p, maxTokens: 12) { _, _ in n += 1; return n < 3 }
        XCTAssertEqual(c.stopReason, .cancelled)
        XCTAssertEqual(c.ids.count, 3)
    }

    func testChatPromptIsTheTemplatePlusPrefill() throws {
        let m = try model()
        let prompt = try m.chatPrompt([ChatMessage(role: "user", content: "Hi")], prefill: "<hidden_scratchpad> I should")
        XCTAssertEqual(prompt, "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<hidden_scratchpad> I should")
    }
}
