import Foundation
import TestSupport
import XCTest

/// `workbench sae index`, `features search|detail|assistant` and the default `features TEXT`
/// beside an index, on the real model with a tiny SAE written here.
final class SAEIndexCommandTests: XCTestCase {
    var directories: [URL] = []
    override func tearDown() {
        for d in directories { try? FileManager.default.removeItem(at: d) }
    }

    func scratch() throws -> URL {
        let dir = try SAEFixture.directory()
        directories.append(dir)
        return dir
    }

    func sae() throws -> String {
        let dir = try scratch()
        try SAEFixture.write(dir, config: SAEFixture.config(dSAE: 16, architecture: "standard", applyBDec: true),
                             weights: SAEFixture.safetensors(SAEFixture.tensors(dIn: 576, dSAE: 16, dtype: "F32", jumprelu: false)))
        return dir.path
    }

    func run(_ args: [String]) throws -> Binary.Result {
        _ = try DefaultModel.file()
        return try Binary.run(try Binary.path(), args)
    }

    func object(_ r: Binary.Result) throws -> [String: Any] {
        XCTAssertEqual(r.status, 0, "stderr: \(r.stderr)")
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
    }

    /// Index a corpus whose text carries an escape sequence, then search, detail and read through it.
    func testIndexSearchDetailAndRead() throws {
        let sae = try sae()
        let corpus = try scratch().appendingPathComponent("corpus.jsonl")
        try """
        {"text": "The rocket launched at dawn and climbed over the harbour. \\u001b[31mred alert\\u001b[0m was shown."}
        {"text": "Cats sleep most of the day while dogs chase the ball in the park."}
        """.write(to: corpus, atomically: true, encoding: .utf8)
        let summary = try object(run(["sae", "index", "--model", DefaultModel.path, "--sae", sae, "--corpus", corpus.path,
                                      "--chunk", "16", "--top", "3", "--json"]))
        XCTAssertEqual(summary["d_sae"] as? Int, 16)
        let tokens = try XCTUnwrap(summary["tokens"] as? Int)
        XCTAssertGreaterThan(tokens, 20)
        XCTAssertEqual(summary["documents"] as? Int, 2)
        XCTAssertGreaterThan(summary["alive"] as? Int ?? 0, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: sae + "/feature_index.json"))

        // detail: JSON verbatim (the escape sequence kept), text sanitised.
        var found: (feature: Int, context: [String: Any])? = nil
        for f in 0..<16 where found == nil {
            let d = try object(run(["features", "detail", "--sae", sae, "--json", "--nearest", "3", "\(f)"]))
            let feature = try XCTUnwrap(d["feature"] as? [String: Any])
            XCTAssertEqual(feature["index"] as? Int, f)
            XCTAssertEqual((d["nearest"] as? [Any])?.count, 3)
            for c in feature["contexts"] as? [[String: Any]] ?? [] where ((c["tokens"] as? [String]) ?? []).joined().contains("\u{1b}") {
                found = (f, c)
            }
        }
        let hostile = try XCTUnwrap(found, "no context kept the escape sequence")
        let plain = try run(["features", "detail", "--sae", sae, "\(hostile.feature)"])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertTrue(plain.stdout.contains("top contexts:"), plain.stdout)
        XCTAssertTrue(plain.stdout.contains("nearest by decoder cosine:"), plain.stdout)
        XCTAssertFalse(plain.stdout.contains("\u{1b}"), "escape sequence reached the terminal")

        // search by a context word.
        let search = try object(run(["features", "search", "--sae", sae, "--json", "harbour"]))
        let hits = try XCTUnwrap(search["hits"] as? [[String: Any]])
        XCTAssertFalse(hits.isEmpty)
        XCTAssertTrue(hits.allSatisfy { ($0["matched_contexts"] as? Int ?? 0) > 0 })
        let plainSearch = try run(["features", "search", "--sae", sae, "red", "alert"])
        XCTAssertEqual(plainSearch.status, 0, plainSearch.stderr)
        XCTAssertFalse(plainSearch.stdout.contains("\u{1b}"))

        // The default subcommand still reads a text, now with the index's labels.
        let read = try object(run(["features", "--model", DefaultModel.path, "--sae", sae, "--json", "The rocket launched"]))
        let features = try XCTUnwrap(read["features"] as? [[String: Any]])
        XCTAssertFalse(features.isEmpty)
        XCTAssertTrue(features.allSatisfy { $0["label"] is String }, "\(features)")

        // Errors: a feature out of range, a corrupt index.
        let outOfRange = try run(["features", "detail", "--sae", sae, "16"])
        XCTAssertNotEqual(outOfRange.status, 0)
        XCTAssertTrue(outOfRange.stderr.contains("features 0...15"), outOfRange.stderr)
        try Data("{\"format\": 1".utf8).write(to: URL(fileURLWithPath: sae + "/feature_index.json"))
        let corrupt = try run(["features", "search", "--sae", sae, "rocket"])
        XCTAssertNotEqual(corrupt.status, 0)
        XCTAssertTrue(corrupt.stderr.contains("feature_index.json: not valid JSON"), corrupt.stderr)
    }

    func testSearchWithoutAnIndexSaysHowToBuildOne() throws {
        let r = try run(["features", "search", "--sae", try sae(), "rocket"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("workbench sae index"), r.stderr)
    }

    func testBadCorpusAndOptions() throws {
        let sae = try sae()
        let missing = try run(["sae", "index", "--model", DefaultModel.path, "--sae", sae, "--corpus", "/nonexistent/corpus"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("no corpus at /nonexistent/corpus"), missing.stderr)
        let bad = try scratch().appendingPathComponent("bad.jsonl")
        try "{\"body\": 1}\n".write(to: bad, atomically: true, encoding: .utf8)
        let badLine = try run(["sae", "index", "--model", DefaultModel.path, "--sae", sae, "--corpus", bad.path])
        XCTAssertNotEqual(badLine.status, 0)
        XCTAssertTrue(badLine.stderr.contains("bad.jsonl:1"), badLine.stderr)
        let chunk = try run(["sae", "index", "--model", DefaultModel.path, "--sae", sae, "--corpus", bad.path, "--chunk", "1"])
        XCTAssertNotEqual(chunk.status, 0)
        XCTAssertTrue(chunk.stderr.contains("--chunk must be >= 2"), chunk.stderr)
    }

    func testAssistantFeatures() throws {
        let sae = try sae()
        let file = try scratch().appendingPathComponent("conversations.json")
        try #"[[{"role":"user","content":"Hi there"},{"role":"assistant","content":"Hello! How can I help?"}],{"messages":[{"role":"user","content":"2+2?"},{"role":"assistant","content":"4."}]}]"#
            .write(to: file, atomically: true, encoding: .utf8)
        let out = try object(run(["features", "assistant", "--model", DefaultModel.path, "--sae", sae, "--top", "5", "--json", file.path]))
        XCTAssertEqual(out["conversations"] as? Int, 2)
        XCTAssertGreaterThan(out["assistant_tokens"] as? Int ?? 0, 5)
        let features = try XCTUnwrap(out["features"] as? [[String: Any]])
        XCTAssertLessThanOrEqual(features.count, 5)
        let fractions = features.compactMap { $0["assistant_fraction"] as? Double }
        XCTAssertEqual(fractions, fractions.sorted(by: >))
        XCTAssertTrue(fractions.allSatisfy { $0 > 0 && $0 <= 1 })
        try "[[{\"role\": \"user\"}]]".write(to: file, atomically: true, encoding: .utf8)
        let bad = try run(["features", "assistant", "--model", DefaultModel.path, "--sae", sae, file.path])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("conversation 0, message 0"), bad.stderr)
    }
}
