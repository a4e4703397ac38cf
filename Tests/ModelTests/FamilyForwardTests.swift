import Foundation
import Model
import TestSupport
import XCTest

/// Every model family and tensor type against llama.cpp on the same file (the goldens in
/// Fixtures/families, made by scripts/family_reference.py; the files by `make test-models`):
/// tokenisation exact, the next token's top 1 equal on every prompt, the logits of llama.cpp's top
/// 10 and of the probe ids within `FamilyGolden.logitTolerance`, and the greedy continuation
/// (32 tokens) identical.
final class FamilyForwardTests: XCTestCase {
    // Real files.
    func testGemma3_270M_Q4_K_M() throws { try check("gemma-3-270m-q4_k_m") }
    func testSmolLM2_Q4_1() throws { try check("SmolLM2-135M-Instruct.Q4_1") }

    // Tiny random-weight fixtures in the layout of llama.cpp's converters, each also re-quantised.
    func testLlama3Tiny() throws { try check("llama3-tiny") }
    func testLlama3TinyQ8_0() throws { try check("llama3-tiny.Q8_0") }
    func testLlama3TinyQ4_K_M() throws { try check("llama3-tiny.Q4_K_M") }
    func testLlama3TinyQ2_K() throws { try check("llama3-tiny.Q2_K") }
    func testLlama3TinyQ3_K_M() throws { try check("llama3-tiny.Q3_K_M") }
    func testLlama3TinyQ5_K_M() throws { try check("llama3-tiny.Q5_K_M") }
    func testLlama3TinyQ6_K() throws { try check("llama3-tiny.Q6_K") }
    func testLlama3TinyIQ4_XS() throws { try check("llama3-tiny.IQ4_XS") }
    func testQwen2Tiny() throws { try check("qwen2-tiny") }
    func testQwen2TinyQ8_0() throws { try check("qwen2-tiny.Q8_0") }
    func testQwen2TinyQ4_K_M() throws { try check("qwen2-tiny.Q4_K_M") }
    func testQwen3Tiny() throws { try check("qwen3-tiny") }
    func testQwen3TinyQ8_0() throws { try check("qwen3-tiny.Q8_0") }
    func testQwen3TinyQ4_K_M() throws { try check("qwen3-tiny.Q4_K_M") }
    func testGemma2Tiny() throws { try check("gemma2-tiny") }
    func testGemma2TinyQ8_0() throws { try check("gemma2-tiny.Q8_0") }
    func testGemma2TinyQ4_K_M() throws { try check("gemma2-tiny.Q4_K_M") }

    // The default model re-quantised by llama.cpp's quantiser into every common type.
    func testDefaultModelF32() throws { try check("SmolLM2-135M-Instruct.F32") }
    func testDefaultModelF16() throws { try check("SmolLM2-135M-Instruct.F16") }
    func testDefaultModelBF16() throws { try check("SmolLM2-135M-Instruct.BF16") }
    func testDefaultModelQ4_0() throws { try check("SmolLM2-135M-Instruct.Q4_0") }
    func testDefaultModelQ5_0() throws { try check("SmolLM2-135M-Instruct.Q5_0") }
    func testDefaultModelQ5_1() throws { try check("SmolLM2-135M-Instruct.Q5_1") }
    func testDefaultModelQ8_0() throws { try check("SmolLM2-135M-Instruct.Q8_0") }
    func testDefaultModelQ2_K() throws { try check("SmolLM2-135M-Instruct.Q2_K") }
    func testDefaultModelQ3_K_M() throws { try check("SmolLM2-135M-Instruct.Q3_K_M") }
    func testDefaultModelQ4_K_M() throws { try check("SmolLM2-135M-Instruct.Q4_K_M") }
    func testDefaultModelQ5_K_M() throws { try check("SmolLM2-135M-Instruct.Q5_K_M") }
    func testDefaultModelQ6_K() throws { try check("SmolLM2-135M-Instruct.Q6_K") }
    func testDefaultModelIQ4_NL() throws { try check("SmolLM2-135M-Instruct.IQ4_NL") }
    func testDefaultModelIQ4_XS() throws { try check("SmolLM2-135M-Instruct.IQ4_XS") }

    func check(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let golden = try FamilyGolden.load(name)
        let path = FamilyGolden.modelPath(golden.file.path)
        guard FileManager.default.fileExists(atPath: path) else {
            XCTFail("\(golden.file.path) missing: run `make test-models`", file: file, line: line)
            return
        }
        let loaded = try LoadedModel(path: path, threads: 2)
        let tokenizer = loaded.tokenizer, model = loaded.model

        for t in golden.tokenize {
            let ids = tokenizer.encode(t.text)
            XCTAssertEqual(ids, t.ids, "\(name): tokens of \(t.text.debugDescription), first difference at \(firstDifference(ids, t.ids))", file: file, line: line)
            let plain = tokenizer.encode(t.text, parseSpecial: false, addBOS: false)
            XCTAssertEqual(plain, t.ids_plain, "\(name): tokens of \(t.text.debugDescription) without specials, first difference at \(firstDifference(plain, t.ids_plain))", file: file, line: line)
            XCTAssertEqual(tokenizer.decode(t.ids, renderSpecial: true), t.detokenized, "\(name): text of \(t.ids)", file: file, line: line)
        }

        var largest: Float = 0
        defer { print("family golden \(name): largest logit difference from llama.cpp \(largest) (tolerance \(FamilyGolden.logitTolerance))") }
        for g in golden.generate {
            let label = "\(name) \(g.kind) \(String(g.prompt.prefix(40)).debugDescription)"
            let cache = model.makeCache(capacity: 1024)
            let logits = try model.forward(g.input_ids, cache: cache)
            let mine = argmax(logits)
            let theirs = Int32(g.first_step.top[0][0])
            XCTAssertEqual(mine, theirs, "\(label): top-1 \(mine), llama.cpp \(theirs)", file: file, line: line)
            var worst: (id: Int32, difference: Float) = (0, 0)
            let expected = g.first_step.top.map { (Int32($0[0]), Float($0[1])) } + zip(golden.probe_ids, g.first_step.probe_logits).map { ($0, $1) }
            for (id, ref) in expected where abs(logits[Int(id)] - ref) > worst.difference {
                worst = (id, abs(logits[Int(id)] - ref))
            }
            largest = max(largest, worst.difference)
            XCTAssertLessThanOrEqual(worst.difference, FamilyGolden.logitTolerance,
                                     "\(label): logit of token \(worst.id) differs by \(worst.difference)", file: file, line: line)
            var out: [Int32] = []
            var next = mine
            while out.count < g.greedy.ids.count {
                out.append(next)
                if out.count == g.greedy.ids.count { break }
                next = argmax(try model.forward([next], cache: cache))
            }
            if let i = firstDifferenceIndex(out, g.greedy.ids) {
                let margin = i < g.greedy.top1_margins.count ? " (llama.cpp's top-1 margin there: \(g.greedy.top1_margins[i]))" : ""
                XCTFail("\(label): greedy continuation differs first at token \(i): got \(out[i]), llama.cpp \(g.greedy.ids[i])\(margin)", file: file, line: line)
            }
        }
    }

    private func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
        var best = 0
        for i in 1..<logits.count where logits[i] > logits[best] { best = i }
        return Int32(best)
    }

    private func firstDifferenceIndex(_ a: [Int32], _ b: [Int32]) -> Int? {
        if let i = zip(a, b).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset { return i }
        return a.count == b.count ? nil : min(a.count, b.count)
    }

    private func firstDifference(_ a: [Int32], _ b: [Int32]) -> String {
        guard let i = firstDifferenceIndex(a, b) else { return "none" }
        return "index \(i): \(i < a.count ? String(a[i]) : "end") vs llama.cpp \(i < b.count ? String(b[i]) : "end")"
    }
}

/// llama.cpp's outputs for one model file (Fixtures/families/NAME.json, scripts/family_reference.py).
struct FamilyGolden: Decodable {
    struct File: Decodable { let path: String; let sha256: String }
    struct Tokenize: Decodable { let text: String; let ids: [Int32]; let ids_plain: [Int32]; let detokenized: String }
    struct Step: Decodable { let top: [[Double]]; let probe_logits: [Float] }
    struct Greedy: Decodable { let ids: [Int32]; let top1_margins: [Float] }
    struct Generate: Decodable {
        let kind: String
        let prompt: String
        let input_ids: [Int32]
        let first_step: Step
        let greedy: Greedy
    }
    let file: File
    let tokenize: [Tokenize]
    let probe_ids: [Int32]
    let generate: [Generate]

    /// The largest difference between our logits and llama.cpp's that the tests accept.
    static let logitTolerance: Float = 1e-3

    static func load(_ name: String) throws -> FamilyGolden {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/families/\(name)", withExtension: "json"), "golden \(name) missing")
        return try JSONDecoder().decode(FamilyGolden.self, from: Data(contentsOf: url))
    }

    static func modelPath(_ relative: String) -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(relative).path
    }
}
