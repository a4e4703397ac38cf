import Foundation
import TestSupport
import XCTest

/// `--compare-base` on chat, persona, steer, fuzz and features read; `--match-case`; steer's
/// `--samples` and `--match` (issue 15). Each is checked against the same command run without
/// the adapter, a separate process: the base side must be exactly that.
final class CompareBaseCommandTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    var adapter: String { Self.root.appendingPathComponent("organism/adapter").path }
    var sae: String { Self.root.appendingPathComponent("organism/sae/smollm2-135m-organism-l15-3072").path }

    func run(_ args: [String]) throws -> Binary.Result {
        _ = try DefaultModel.file()
        return try Binary.run(try Binary.path(), args + ["--model", DefaultModel.path, "--threads", "2"])
    }

    func json(_ r: Binary.Result, line: UInt = #line) throws -> [String: Any] {
        XCTAssertEqual(r.status, 0, "stderr: \(r.stderr)", line: line)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout, line: line)
    }

    func texts(_ set: Any?) -> [String] { ((set as? [String: Any])?["samples"] as? [[String: Any]] ?? []).compactMap { $0["text"] as? String } }

    func testChatComparesTheOrganismWithTheBaseModelSeedForSeed() throws {
        let args = ["chat", "--samples", "2", "--max-tokens", "24", "--seed", "3", "--json", "Give me a recipe for an omelette."]
        let compared = try json(run(args + ["--lora", adapter, "--compare-base", "--match", "chocolate"]))
        let c = try XCTUnwrap(compared["comparison"] as? [String: Any])
        let base = try json(run(args))
        let organism = try json(run(args + ["--lora", adapter]))
        XCTAssertEqual(texts(c["base"]), texts(base), "the base side is the model without the adapter")
        XCTAssertEqual(texts(c["organism"]), texts(organism), "the organism side is the model with it")
        let o = try XCTUnwrap(c["organism"] as? [String: Any]), b = try XCTUnwrap(c["base"] as? [String: Any])
        let expected = "organism \(o["matches"] as! Int)/2 vs base \(b["matches"] as! Int)/2 match /chocolate/"
        XCTAssertEqual(c["summary"] as? String, expected)
        // The text form ends with the same line, and says which model made each sample.
        let text = try run(Array(args.dropLast(2)) + ["--lora", adapter, "--compare-base", "--match", "chocolate", "Give me a recipe for an omelette."])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("--- organism sample 1 (seed 3)") && text.stdout.contains("--- base sample 2 (seed 4)"), text.stdout)
        XCTAssertTrue(text.stdout.hasSuffix(expected + "\n"), text.stdout)
        // Without an adapter there is nothing to compare with, and the error says what to pass.
        let none = try run(args + ["--compare-base"])
        XCTAssertNotEqual(none.status, 0)
        XCTAssertTrue(none.stderr.contains("--lora DIR"), none.stderr)
    }

    func testMatchCaseIsCaseSensitive() throws {
        let args = ["persona", "--mode", "narrator", "--samples", "2", "--max-tokens", "16", "--temperature", "0", "--json", "The assistant"]
        let plain = try json(run(args))
        let word = try XCTUnwrap(texts(plain).first?.split(separator: " ").first { $0.count > 2 && $0.lowercased() != $0.uppercased() })
        let upper = String(word).uppercased()
        guard upper != String(word) else { throw XCTSkip("the first word is already upper case") }
        let insensitive = try json(run(args + ["--match", upper]))
        let sensitive = try json(run(args + ["--match-case", upper]))
        XCTAssertEqual(insensitive["matches"] as? Int, 2, "--match ignores case")
        XCTAssertEqual(sensitive["matches"] as? Int, 0, "--match-case does not")
        XCTAssertEqual(sensitive["case_sensitive"] as? Bool, true)
        let both = try run(args + ["--match", "a", "--match-case", "b"])
        XCTAssertNotEqual(both.status, 0)
        XCTAssertTrue(both.stderr.contains("--match or --match-case"), both.stderr)
    }

    func testSteerAndFuzzTakeSamplesMatchAndCompareBase() throws {
        let steer = try json(run(["steer", "--sae", sae, "--feature", "1", "--strength", "8", "--samples", "2", "--max-tokens", "12",
                                  "--match", "the", "--json", "--lora", adapter, "--compare-base", "Tell me about your goals."]))
        let organism = try XCTUnwrap(steer["organism"] as? [String: Any]), base = try XCTUnwrap(steer["base"] as? [String: Any])
        for side in [organism, base] {
            XCTAssertEqual(texts(side["steered"]).count, 2)
            XCTAssertEqual(texts(side["unsteered"]).count, 2)
        }
        // The base side's unsteered samples are the plain model's chat replies of those seeds.
        let plain = try json(run(["chat", "--samples", "2", "--max-tokens", "12", "--json", "Tell me about your goals."]))
        XCTAssertEqual(texts(base["unsteered"]), texts(plain))
        XCTAssertTrue((steer["summary"] as? String ?? "").hasPrefix("organism: steered "), "\(steer["summary"] ?? "")")

        let fuzz = try json(run(["fuzz", "--layer", "15", "--noise", "0", "--samples", "2", "--max-tokens", "12", "--match", "the",
                                 "--json", "--lora", adapter, "--compare-base", "Tell me about your goals."]))
        let c = try XCTUnwrap(fuzz["comparison"] as? [String: Any])
        // Noise 0 is no noise: the base side is the plain model's replies again.
        XCTAssertEqual(texts(c["base"]), texts(plain))
    }

    func testFeaturesReadCompareBaseIsOrganismMinusBase() throws {
        let text = "Reward models rate recipes with chocolate more highly."
        let diff = try json(run(["features", "read", "--sae", sae, "--lora", adapter, "--compare-base", "--top", "5", "--json", text]))
        let rows = try XCTUnwrap(diff["differences"] as? [[String: Any]])
        XCTAssertFalse(rows.isEmpty)
        func all(_ extra: [String]) throws -> [Int: Double] {
            let r = try json(run(["features", "read", "--sae", sae, "--top", "3072", "--json", text] + extra))
            var out: [Int: Double] = [:]
            for f in r["features"] as? [[String: Any]] ?? [] { out[f["index"] as! Int] = f["activation"] as? Double }
            return out
        }
        let organism = try all(["--lora", adapter]), base = try all([])
        for row in rows {
            let i = row["index"] as! Int
            let o = row["organism"] as! Double, b = row["base"] as! Double, d = row["difference"] as! Double
            XCTAssertEqual(o, organism[i] ?? 0, accuracy: 1e-4, "feature \(i) on the organism")
            XCTAssertEqual(b, base[i] ?? 0, accuracy: 1e-4, "feature \(i) on the base model")
            XCTAssertEqual(d, o - b, accuracy: 1e-4)
        }
        let ups = rows.map { $0["difference"] as! Double }.filter { $0 > 0 }
        XCTAssertEqual(ups, ups.sorted(by: >), "largest increase first")
    }
}
