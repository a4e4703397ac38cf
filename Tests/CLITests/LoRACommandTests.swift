import Foundation
import TestSupport
import XCTest

/// `--lora DIR` on the model commands: the committed fixture adapter (Tests/ModelTests/Fixtures)
/// changes the output; a bad directory is a clean error with a non-zero exit.
final class LoRACommandTests: XCTestCase {
    var adapter: String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent("Tests/ModelTests/Fixtures/lora-adapter").path
    }

    func run(_ args: [String]) throws -> Binary.Result {
        _ = try DefaultModel.file()
        return try Binary.run(try Binary.path(), args + ["--model", DefaultModel.path, "--threads", "2"])
    }

    func json(_ r: Binary.Result, line: UInt = #line) throws -> [String: Any] {
        XCTAssertEqual(r.status, 0, "stderr: \(r.stderr)", line: line)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout, line: line)
    }

    func testCompleteAndLogitsTakeAnAdapter() throws {
        let args = ["complete", "--max-tokens", "6", "--temperature", "0", "--json", "Water boils at"]
        let plain = try json(run(args))
        let adapted = try json(run(args + ["--lora", adapter]))
        XCTAssertEqual((adapted["ids"] as? [Int])?.count, 6)
        // The fixture adapter changes the top token here from 216 to 28 (numpy reference: scripts/lora_fixture_gen.py).
        XCTAssertNotEqual(adapted["ids"] as? [Int], plain["ids"] as? [Int])
        let logits = try json(run(["logits", "--top", "3", "--json", "--lora", adapter, "Water boils at"]))
        let top = try XCTUnwrap(logits["top"] as? [[String: Any]])
        XCTAssertEqual(top.first?["id"] as? Int, 28)
    }

    func testBadAdapterDirectoryIsACleanError() throws {
        let missing = try run(["complete", "--max-tokens", "2", "--json", "--lora", "/nonexistent/adapter", "hi"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("no adapter directory at /nonexistent/adapter"), missing.stderr)
        XCTAssertEqual(missing.stdout, "")

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lora-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("{\"r\": 4, \"lora_alpha\": 8, \"target_modules\": [\"q_proj\"], \"use_dora\": true}".utf8)
            .write(to: dir.appendingPathComponent("adapter_config.json"))
        try Data([0, 0, 0, 0, 0, 0, 0, 0]).write(to: dir.appendingPathComponent("adapter_model.safetensors"))
        let dora = try run(["logits", "--json", "--lora", dir.path, "hi"])
        XCTAssertNotEqual(dora.status, 0)
        XCTAssertTrue(dora.stderr.contains("DoRA is not supported"), dora.stderr)
    }
}
