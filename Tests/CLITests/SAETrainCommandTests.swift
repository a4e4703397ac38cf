import Foundation
import TestSupport
import XCTest

/// `workbench sae train` on the real default model with a small corpus written here.
final class SAETrainCommandTests: XCTestCase {
    var directories: [URL] = []
    override func tearDown() {
        for d in directories { try? FileManager.default.removeItem(at: d) }
    }

    func scratch() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sae-train-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        directories.append(dir)
        return dir
    }

    /// Varied English paragraphs, blank-line separated.
    func corpus() -> String {
        let subjects = ["The old sailor", "A young doctor", "My neighbour's cat", "The city council", "An engineer from Ohio",
                        "The small bakery", "Our history teacher", "The river", "A famous painter", "The mountain village"]
        let verbs = ["walked slowly towards", "wrote a long letter about", "could not stop thinking about", "decided to investigate",
                     "quietly admired", "argued loudly over", "spent the winter near", "drew a careful map of"]
        let objects = ["the harbour at dawn", "the price of bread", "a strange noise in the attic", "the new railway line",
                       "the stars above the fields", "an unpaid bill from March", "the forgotten garden", "seven wooden boxes"]
        let endings = ["Nobody knew why.", "It rained all day.", "Later, everyone laughed about it.", "The newspapers said nothing.",
                       "By evening the matter was settled.", "Questions remained, of course.", "Then the bell rang twice."]
        var paragraphs: [String] = []
        var n = 0
        for p in 0..<60 {
            var sentences: [String] = []
            for _ in 0..<(3 + p % 4) {
                sentences.append("\(subjects[n % subjects.count]) \(verbs[(n / 3) % verbs.count]) \(objects[(n * 7 / 5) % objects.count]). \(endings[(n * 3) % endings.count])")
                n += 1
            }
            paragraphs.append(sentences.joined(separator: " "))
        }
        return paragraphs.joined(separator: "\n\n")
    }

    func run(_ args: [String]) throws -> Binary.Result {
        _ = try DefaultModel.file()
        return try Binary.run(try Binary.path(), args)
    }

    func testTrainsATinySAEThatFeaturesReads() throws {
        let dir = try scratch()
        let corpusPath = dir.appendingPathComponent("corpus.txt").path
        try corpus().write(toFile: corpusPath, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("sae").path
        let args = ["sae", "train", "--model", DefaultModel.path, "--corpus", corpusPath, "--layer", "2", "--d-sae", "64", "--k", "8",
                    "--tokens", "3000", "--batch", "128", "--lr", "2e-3", "--buffer-tokens", "1024", "--checkpoint-every", "1000",
                    "--eval-tokens", "400", "--out", out, "--json"]
        let r = try run(args)
        XCTAssertEqual(r.status, 0, r.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
        let fve = try XCTUnwrap(report["fve"] as? Double), l0 = try XCTUnwrap(report["l0"] as? Double)
        let dead = try XCTUnwrap(report["dead_fraction"] as? Double)
        XCTAssertEqual(report["hook"] as? String, "blocks.2.hook_resid_post")
        XCTAssertEqual(report["d_sae"] as? Int, 64)
        XCTAssertEqual(report["d_in"] as? Int, 576)
        XCTAssertEqual(report["k"] as? Int, 8)
        XCTAssertGreaterThanOrEqual(report["tokens"] as? Int ?? 0, 2900)
        XCTAssertGreaterThan(report["eval_tokens"] as? Int ?? 0, 100)
        XCTAssertGreaterThan(fve, 0.3, "held-out fve")
        XCTAssertLessThanOrEqual(fve, 1)
        XCTAssertGreaterThan(l0, 1)
        XCTAssertLessThanOrEqual(l0, 8.0001)
        XCTAssertGreaterThanOrEqual(dead, 0)
        XCTAssertLessThan(dead, 1)
        XCTAssertTrue(r.stderr.contains("fve"), "progress on stderr: \(r.stderr)")

        // cfg.json carries the training statistics; the directory is an SAELens SAE.
        let cfg = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/cfg.json"))) as? [String: Any])
        XCTAssertEqual(cfg["architecture"] as? String, "topk")
        XCTAssertEqual(cfg["normalize_activations"] as? String, "expected_average_only_in")
        XCTAssertNotNil(cfg["norm_scaling_factor"] as? Double)
        let training = try XCTUnwrap(cfg["training"] as? [String: Any])
        XCTAssertEqual(training["eval_fve"] as? Double ?? .nan, fve, accuracy: 1e-9)
        let features = try run(["features", "--model", DefaultModel.path, "--sae", out, "--top", "5", "--json", "The old sailor walked to the harbour."])
        XCTAssertEqual(features.status, 0, features.stderr)
        let f = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(features.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(f["hook"] as? String, "blocks.2.hook_resid_post")
        XCTAssertFalse((f["features"] as? [Any] ?? []).isEmpty)

        // The same --out again needs --resume; resuming at the target keeps the token count.
        let again = try run(args)
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.stderr.contains("--resume"), again.stderr)
        let resumed = try run(args + ["--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let rr = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(resumed.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(rr["resumed_from"] as? Int, report["tokens"] as? Int)
        XCTAssertEqual(rr["tokens"] as? Int, report["tokens"] as? Int)
    }

    /// The white-box path on a second family: an SAE trained on Gemma 3 270M's residual stream
    /// (width 640, sliding-window layers, QK-norm), read by `features` and used by `steer`.
    func testTrainsAnSAEOnGemma3AndSteersWithIt() throws {
        let gemma = try Gemma3Model.require()
        let dir = try scratch()
        let corpusPath = dir.appendingPathComponent("corpus.txt").path
        try corpus().write(toFile: corpusPath, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("sae").path
        let r = try run(["sae", "train", "--model", gemma, "--corpus", corpusPath, "--layer", "6", "--d-sae", "64", "--k", "8",
                         "--tokens", "4000", "--batch", "128", "--lr", "2e-3", "--buffer-tokens", "1024", "--checkpoint-every", "2000",
                         "--eval-tokens", "300", "--out", out, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
        XCTAssertEqual(report["hook"] as? String, "blocks.6.hook_resid_post")
        XCTAssertEqual(report["d_in"] as? Int, 640)
        XCTAssertGreaterThan(report["fve"] as? Double ?? 0, 0.3, "held-out fve")

        let features = try run(["features", "--model", gemma, "--sae", out, "--top", "5", "--json", "The old sailor walked to the harbour."])
        XCTAssertEqual(features.status, 0, features.stderr)
        let f = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(features.stdout.utf8)) as? [String: Any])
        let top = try XCTUnwrap(f["features"] as? [[String: Any]])
        XCTAssertFalse(top.isEmpty)
        let feature = try XCTUnwrap(top.first?["index"] as? Int)

        let steer = try run(["steer", "--model", gemma, "--sae", out, "--feature", String(feature), "--strength", "8",
                             "--max-tokens", "12", "--temperature", "0", "--json", "Tell me about the sea."])
        XCTAssertEqual(steer.status, 0, steer.stderr)
        let s = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(steer.stdout.utf8)) as? [String: Any], steer.stdout)
        XCTAssertNotNil(s["steered"], steer.stdout)
    }

    func testBadCorpusAndLayerGiveClearErrors() throws {
        let dir = try scratch()
        let missing = try run(["sae", "train", "--model", DefaultModel.path, "--corpus", "/nonexistent/corpus.txt", "--layer", "2",
                               "--out", dir.appendingPathComponent("a").path])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("no corpus at /nonexistent/corpus.txt"), missing.stderr)

        let corpusPath = dir.appendingPathComponent("c.txt").path
        try "Some text for the corpus.".write(toFile: corpusPath, atomically: true, encoding: .utf8)
        let layer = try run(["sae", "train", "--model", DefaultModel.path, "--corpus", corpusPath, "--layer", "99",
                             "--out", dir.appendingPathComponent("b").path])
        XCTAssertNotEqual(layer.status, 0)
        XCTAssertTrue(layer.stderr.contains("layer 99 is out of range"), layer.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("b").path))

        let empty = dir.appendingPathComponent("empty.txt").path
        try "\n\n  \n".write(toFile: empty, atomically: true, encoding: .utf8)
        let e = try run(["sae", "train", "--model", DefaultModel.path, "--corpus", empty, "--layer", "2",
                         "--out", dir.appendingPathComponent("c").path])
        XCTAssertNotEqual(e.status, 0)
        XCTAssertTrue(e.stderr.contains("has no text"), e.stderr)
    }
}
