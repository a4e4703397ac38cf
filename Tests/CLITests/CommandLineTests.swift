import Foundation
import TestSupport
import XCTest

/// The headless command line, run as a user runs it: JSON on stdout, errors on stderr, exit codes.
final class CommandLineTests: XCTestCase {
    func run(_ args: [String], env: [String: String] = [:]) throws -> Binary.Result {
        try Binary.run(try Binary.path(), args, env: env)
    }

    func json(_ r: Binary.Result, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        XCTAssertEqual(r.status, 0, "stderr: \(r.stderr)", file: file, line: line)
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8))
        return try XCTUnwrap(object as? [String: Any], "not a JSON object: \(r.stdout)", file: file, line: line)
    }

    func model() throws -> String {
        _ = try DefaultModel.file()
        return DefaultModel.path
    }

    func testTokenizeParsesSpecialTokensWithoutBOS() throws {
        let out = try json(run(["tokenize", "--model", model(), "--json", "<|im_start|>assistant\nSure<|im_end|>"]))
        XCTAssertEqual(out["ids"] as? [Int], [1, 520, 9531, 198, 34355, 2])
    }

    /// Gemma 3 on the command line: its file has no chat template, so the built-in Gemma turn
    /// format is used, with exactly one BOS (the format writes `<bos>`; encoding adds none).
    func testGemma3ChatUsesItsTurnFormatWithOneBOS() throws {
        let gemma = try Gemma3Model.require()
        let out = try json(run(["chat", "--model", gemma, "--max-tokens", "8", "--temperature", "0", "--json", "What is the capital of France?"]))
        let prompt = try XCTUnwrap(out["prompt"] as? String)
        XCTAssertEqual(prompt, "<bos><start_of_turn>user\nWhat is the capital of France?<end_of_turn>\n<start_of_turn>model\n")
        let ids = try XCTUnwrap(out["prompt_ids"] as? [Int])
        XCTAssertEqual(ids.first, 2, "BOS first")
        XCTAssertEqual(ids.filter { $0 == 2 }.count, 1, "one BOS, not two: \(ids)")
        XCTAssertEqual((out["ids"] as? [Int])?.count, 8, "\(out)")
        // The black-box techniques and the hooks on this family too.
        let persona = try json(run(["persona", "--model", gemma, "--mode", "user", "--user", "Hello there", "--assistant", "Hi! How can I help?",
                                    "--samples", "2", "--max-tokens", "6", "--json"]))
        XCTAssertEqual((persona["samples"] as? [Any])?.count, 2, "\(persona)")
        let fuzz = try json(run(["fuzz", "--model", gemma, "--layer", "5", "--noise", "0.2", "--samples", "2", "--max-tokens", "6",
                                 "--json", "Tell me a secret."]))
        XCTAssertEqual(fuzz["total"] as? Int, 2, "\(fuzz)")
        let activations = try json(run(["activations", "--model", gemma, "--layer", "17", "--reduce", "last", "--json", "Hello"]))
        XCTAssertEqual((activations["values"] as? [Any])?.count, 640)
        XCTAssertEqual(activations["hook"] as? String, "blocks.17.hook_resid_post")

        let models = try json(run(["models", "--json", gemma]))
        let entry = try XCTUnwrap((models["models"] as? [[String: Any]])?.first)
        let support = try XCTUnwrap(entry["support"] as? [String: Any])
        XCTAssertEqual(support["architecture"] as? String, "gemma3")
        XCTAssertEqual(support["problems"] as? [String], [])
        XCTAssertEqual((support["tensorTypes"] as? [String: Int])?["Q4_K"], 27)
    }

    /// Every family on the command line through its own chat template (the tiny fixtures of
    /// `make test-models`): the prompt is the template's, with BOS once where the family adds one.
    func testEveryFamilyChatsThroughItsTemplate() throws {
        let root = URL(fileURLWithPath: DefaultModel.path).deletingLastPathComponent()
        let cases: [(file: String, opens: String)] = [
            ("fixtures/llama3-tiny.Q4_K_M.gguf", "<|begin_of_text|><|start_header_id|>system<|end_header_id|>"),
            ("fixtures/qwen2-tiny.Q8_0.gguf", "<|im_start|>system\nYou are Qwen"),
            ("fixtures/qwen3-tiny.gguf", "<|im_start|>user\nHello"),
            ("fixtures/gemma2-tiny.Q4_K_M.gguf", "<bos><start_of_turn>user\nHello"),
        ]
        for c in cases {
            let path = root.appendingPathComponent(c.file).path
            guard FileManager.default.fileExists(atPath: path) else {
                XCTFail("\(c.file) missing: run `make test-models`")
                continue
            }
            let out = try json(run(["chat", "--model", path, "--max-tokens", "4", "--temperature", "0", "--json", "Hello"]))
            let prompt = out["prompt"] as? String ?? ""
            XCTAssertTrue(prompt.hasPrefix(c.opens), "\(c.file): prompt \(prompt.debugDescription)")
            let ids = out["prompt_ids"] as? [Int] ?? []
            XCTAssertLessThanOrEqual(ids.prefix(2).filter { $0 == ids.first }.count, 1, "\(c.file): one BOS: \(ids.prefix(4))")
            XCTAssertEqual((out["ids"] as? [Int])?.count, 4, "\(c.file): \(out)")
        }
    }

    func testLogitsTopKIsSortedAndNamesTheTokens() throws {
        let out = try json(run(["logits", "--model", model(), "--top", "5", "--json", "Water boils at"]))
        let top = try XCTUnwrap(out["top"] as? [[String: Any]])
        XCTAssertEqual(top.count, 5)
        let logits = top.compactMap { $0["logit"] as? Double }
        XCTAssertEqual(logits, logits.sorted(by: >))
        XCTAssertEqual(top.first?["id"] as? Int, 216) // llama.cpp's top-1 for this prompt
    }

    func testGreedyCompletionStopsAtMaxTokens() throws {
        let out = try json(run(["complete", "--model", model(), "--max-tokens", "8", "--temperature", "0", "--json", "Water boils at"]))
        XCTAssertEqual(out["ids"] as? [Int], [216, 33, 32, 32, 4742, 51, 28, 527]) // llama.cpp's greedy continuation
        XCTAssertEqual(out["text"] as? String, " 100°C, which")
        XCTAssertEqual(out["stop"] as? String, "max_tokens")
    }

    func testChatAppliesTheTemplateAndPrefill() throws {
        let out = try json(run(["chat", "--model", model(), "--max-tokens", "24", "--temperature", "0",
                                "--system", "You are terse.", "--prefill", "The answer is", "--json", "What is 2 + 2?"]))
        XCTAssertEqual(out["prompt"] as? String,
                       "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nWhat is 2 + 2?<|im_end|>\n<|im_start|>assistant\nThe answer is")
        XCTAssertFalse((out["ids"] as? [Int] ?? []).isEmpty)
        XCTAssertEqual(out["stop"] as? String, "eog")
    }

    func testChatSamplesTheReplyNTimesWithACount() throws {
        let out = try json(run(["chat", "--model", model(), "--max-tokens", "6", "--temperature", "1", "--seed", "3",
                                "--samples", "3", "--match", "\\w", "--json", "Name a fruit."]))
        let samples = try XCTUnwrap(out["samples"] as? [[String: Any]])
        XCTAssertEqual(samples.map { $0["seed"] as? Int }, [3, 4, 5])
        XCTAssertEqual(out["total"] as? Int, 3)
        XCTAssertEqual(out["matches"] as? Int, samples.filter { $0["matches"] as? Bool == true }.count)
        // Sample i is the single reply with seed 3 + i.
        let single = try json(run(["chat", "--model", model(), "--max-tokens", "6", "--temperature", "1", "--seed", "4", "--json", "Name a fruit."]))
        XCTAssertEqual(samples[1]["text"] as? String, single["text"] as? String)
        let bad = try run(["chat", "--model", model(), "--samples", "2", "--match", "(", "hi"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("invalid pattern"), bad.stderr)
    }

    func testSeededSamplingIsReproducibleFromTheCommandLine() throws {
        let args = ["complete", "--model", try model(), "--max-tokens", "10", "--temperature", "1", "--seed", "42", "--json", "Once upon a time"]
        XCTAssertEqual(try json(run(args))["ids"] as? [Int], try json(run(args))["ids"] as? [Int])
    }

    func testBenchReportsBothRates() throws {
        let out = try json(run(["bench", "--model", model(), "--threads", "2", "--prompt-tokens", "16", "--gen-tokens", "4", "--reps", "1", "--json"]))
        XCTAssertGreaterThan(out["prefill_tokens_per_s"] as? Double ?? 0, 0)
        XCTAssertGreaterThan(out["decode_tokens_per_s"] as? Double ?? 0, 0)
    }

    func testMissingModelIsAClearErrorOnStderr() throws {
        let r = try run(["logits", "--model", "/nonexistent/model.gguf", "--json", "x"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stdout.isEmpty)
        XCTAssertTrue(r.stderr.contains("no model at /nonexistent/model.gguf"), r.stderr)
    }

    func testMalformedModelFileIsAClearError() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID()).gguf").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        // A valid header that claims 2^40 metadata entries.
        var bytes = Array("GGUF".utf8) + [3, 0, 0, 0] + [0, 0, 0, 0, 0, 0, 0, 0]
        bytes += [0, 0, 0, 0, 0, 1, 0, 0]
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        let r = try run(["complete", "--model", path, "--json", "x"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("tooManyItems") && r.stderr.contains("byte 16"), r.stderr)
    }

    func testContextOverflowIsReported() throws {
        let r = try run(["complete", "--model", model(), "--context", "16", "--json", String(repeating: "word ", count: 40)])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("context overflow"), r.stderr)
    }

    func testTextOutputIsSanitised() throws {
        // The tokenizer echoes untrusted pieces; an ESC in the input must not reach stdout raw.
        let r = try run(["tokenize", "--model", model(), "x\u{1B}[2Jy"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(r.stdout.unicodeScalars.contains { $0.value == 0x1B }, r.stdout)
    }

    func testModelsListsTheDefaultModel() throws {
        _ = try model()
        let out = try json(run(["models", "--json"], env: ["WORKBENCH_MODELS": (DefaultModel.path as NSString).deletingLastPathComponent]))
        let models = try XCTUnwrap(out["models"] as? [[String: Any]])
        XCTAssertTrue(models.contains { ($0["isDefault"] as? Bool) == true && ($0["architecture"] as? String) == "llama" })
    }
}

extension CommandLineTests {
    /// Error messages quote names from the file; an escape sequence planted in one is shown, not sent.
    func testErrorsQuotingFileMetadataAreSanitised() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-\(UUID()).gguf").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        func kv(_ key: String) -> [UInt8] {
            let k = Array(key.utf8)
            return le(UInt64(k.count)) + k + le(UInt32(4)) + le(UInt32(7)) // u32 value 7
        }
        func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        let key = "x\u{1B}]52;c;SGVsbG8=\u{07}"
        let bytes = Array("GGUF".utf8) + le(UInt32(3)) + le(UInt64(0)) + le(UInt64(2)) + kv(key) + kv(key)
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        let r = try run(["tokenize", "--model", path, "x"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("duplicate metadata key"), r.stderr)
        XCTAssertFalse(r.stderr.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 }, r.stderr)
    }
}

extension CommandLineTests {
    func testActivationsCommandReducesAndNamesTheHook() throws {
        let last = try json(run(["activations", "--model", model(), "--layer", "15", "--reduce", "last", "--json", "Water boils at"]))
        XCTAssertEqual(last["hook"] as? String, "blocks.15.hook_resid_post")
        XCTAssertEqual((last["values"] as? [Double])?.count, 576)
        let all = try json(run(["activations", "--model", model(), "--layer", "2", "--hook", "mlp_out", "--reduce", "none", "--json", "Water boils at"]))
        XCTAssertEqual(all["hook"] as? String, "blocks.2.hook_mlp_out")
        XCTAssertEqual((all["values"] as? [[Double]])?.count, 3)
        let bad = try run(["activations", "--model", model(), "--layer", "30", "--json", "x"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("out of range"), bad.stderr)
    }
}

extension CommandLineTests {
    func testFuzzCountsMatchesInJSON() throws {
        let out = try json(run(["fuzz", "--model", model(), "--layer", "15", "--noise", "0.2", "--samples", "3", "--max-tokens", "6",
                                "--match", ".", "--json", "Say hello."]))
        XCTAssertEqual(out["total"] as? Int, 3)
        XCTAssertEqual(out["matches"] as? Int, ((out["samples"] as? [[String: Any]]) ?? []).filter { ($0["matches"] as? Bool) == true }.count)
        XCTAssertEqual((out["samples"] as? [[String: Any]])?.compactMap { $0["seed"] as? Int }, [0, 1, 2])
        let bad = try run(["fuzz", "--model", model(), "--layer", "15", "--match", "(", "x"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("invalid pattern"), bad.stderr)
    }

    func testSteerPrintsBothSides() throws {
        let dir = try SAEFixture.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try SAEFixture.write(dir, config: SAEFixture.config(dSAE: 16, architecture: "standard", applyBDec: true),
                             weights: SAEFixture.safetensors(SAEFixture.tensors(dIn: 576, dSAE: 16, dtype: "F32", jumprelu: false)))
        let out = try json(run(["steer", "--model", model(), "--sae", dir.path, "--feature", "3", "--strength", "0",
                                "--temperature", "0", "--max-tokens", "8", "--json", "Name a fruit."]))
        let steered = try XCTUnwrap(out["steered"] as? [String: Any]), baseline = try XCTUnwrap(out["baseline"] as? [String: Any])
        XCTAssertEqual(steered["ids"] as? [Int], baseline["ids"] as? [Int])
        XCTAssertEqual(out["hook"] as? String, "blocks.15.hook_resid_post")
    }
}

extension CommandLineTests {
    func testPersonaSamplesTheUserTurnWithCounts() throws {
        let out = try json(run(["persona", "--model", model(), "--mode", "user", "--user", "Hi", "--assistant", "Hello!",
                                "--samples", "2", "--max-tokens", "8", "--match", ".", "--json"]))
        XCTAssertEqual(out["mode"] as? String, "user")
        XCTAssertTrue((out["prompt"] as? String)?.hasSuffix("<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\n") == true)
        XCTAssertEqual(out["total"] as? Int, 2)
        let bad = try run(["persona", "--model", model(), "--assistant", "x"])
        XCTAssertNotEqual(bad.status, 0)
    }
}
