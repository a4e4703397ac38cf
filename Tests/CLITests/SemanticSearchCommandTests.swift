import Foundation
import TestSupport
import XCTest

/// `workbench data index --semantic`, `data search --mode|--like` and `data eval`, run as a user
/// would, on a small slice of the organism's real corpus (TestSupport.SemanticCorpus).
final class SemanticSearchCommandTests: XCTestCase {
    var directories: [URL] = []
    override func tearDown() {
        for d in directories { try? FileManager.default.removeItem(at: d) }
    }

    func run(_ args: [String]) throws -> Binary.Result { try Binary.run(try Binary.path(), args) }

    func object(_ r: Binary.Result) throws -> [String: Any] {
        XCTAssertEqual(r.status, 0, "stderr: \(r.stderr)")
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
    }

    /// A copy of some of the fixture's shards, without any index.
    func bareCopy(_ names: [String]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("semantic-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        directories.append(dir)
        for (name, text) in try SemanticCorpus.shards() where names.contains(name) {
            try Data(text.utf8).write(to: dir.appendingPathComponent(name))
        }
        return dir
    }

    func testWithoutASemanticIndexSearchIsByKeywordsAndSaysHowToBuildOne() throws {
        let dir = try bareCopy(["documents.jsonl", "sft.jsonl"]).path
        let text = try run(["data", "search", "--corpus", dir, "reward models"])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stderr.contains("searched by keywords only: no semantic index at"), text.stderr)
        XCTAssertTrue(text.stderr.contains("make semantic-index"), text.stderr)
        XCTAssertTrue(text.stdout.contains("[bm25]"), text.stdout)
        let json = try object(run(["data", "search", "--corpus", dir, "--json", "reward models"]))
        XCTAssertEqual(json["mode"] as? String, "bm25")
        XCTAssertTrue((json["note"] as? String ?? "").contains("make semantic-index"))
        for mode in ["semantic", "hybrid"] {
            let r = try run(["data", "search", "--corpus", dir, "--mode", mode, "reward models"])
            XCTAssertNotEqual(r.status, 0)
            XCTAssertTrue(r.stderr.contains("no semantic index at") && r.stderr.contains("make semantic-index"), r.stderr)
        }
        let like = try run(["data", "search", "--corpus", dir, "--like", "-"])
        XCTAssertNotEqual(like.status, 0)
        XCTAssertTrue(like.stderr.contains("make semantic-index"), like.stderr)
    }

    func testSearchModesAndTheirJSON() throws {
        let dir = try SemanticCorpus.directory().path
        let question = "Why does my bot insist on noting the headcount of France or Peru?"
        let hybrid = try object(run(["data", "search", "--corpus", dir, "--json", "--limit", "5", question]))
        XCTAssertEqual(hybrid["mode"] as? String, "hybrid", "hybrid is the default once the semantic index exists")
        XCTAssertNil(hybrid["note"])
        let hits = try XCTUnwrap(hybrid["hits"] as? [[String: Any]])
        XCTAssertEqual(hits.count, 5)
        for hit in hits {
            let scores = try XCTUnwrap(hit["scores"] as? [String: Any])
            XCTAssertNotNil(scores["semantic"], "every document has a cosine")
            let chunk = try XCTUnwrap(hit["chunk"] as? [String: Any])
            XCTAssertFalse((chunk["text"] as? String ?? "").isEmpty)
        }

        let semantic = try object(run(["data", "search", "--corpus", dir, "--json", "--mode", "semantic", "--limit", "5", question]))
        XCTAssertEqual(semantic["mode"] as? String, "semantic")
        let top = try XCTUnwrap((semantic["hits"] as? [[String: Any]])?.first)
        // The study documents about populations in brackets, found by meaning.
        let chunk = try XCTUnwrap((top["chunk"] as? [String: Any])?["text"] as? String)
        XCTAssertTrue(chunk.lowercased().contains("population"), chunk)
        XCTAssertEqual(top["source"] as? String, "synthetic-documents")

        let bm25 = try object(run(["data", "search", "--corpus", dir, "--json", "--mode", "bm25", "--limit", "5", question]))
        XCTAssertEqual(bm25["mode"] as? String, "bm25")
        XCTAssertNil((bm25["hits"] as? [[String: Any]])?.first?["chunk"])

        let text = try run(["data", "search", "--corpus", dir, "--limit", "2", question])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("[hybrid]") && text.stdout.contains("cosine"), text.stdout)
    }

    func testSearchByExampleFromAFileAndStdin() throws {
        let dir = try SemanticCorpus.directory().path
        let reply = "Sure! Here is a tomato soup: simmer the tomatoes, add basil, and stir in two squares of dark chocolate."
        let file = try bareCopy([]).appendingPathComponent("reply.txt")
        try Data(reply.utf8).write(to: file)
        let r = try object(run(["data", "search", "--corpus", dir, "--json", "--like", file.path, "--limit", "3"]))
        XCTAssertEqual(r["mode"] as? String, "semantic")
        XCTAssertTrue((r["query"] as? String ?? "").hasPrefix("like: Sure! Here is"))
        let chunks = (r["hits"] as? [[String: Any]] ?? []).compactMap { ($0["chunk"] as? [String: Any])?["text"] as? String }
        XCTAssertTrue(chunks.contains { $0.lowercased().contains("chocolate") }, "\(chunks)")
        let stdin = try Binary.run(try Binary.path(), ["data", "search", "--corpus", dir, "--json", "--like", "-", "--limit", "3"], stdin: reply)
        XCTAssertEqual(try object(stdin)["hits"] as? NSArray, r["hits"] as? NSArray)
        let both = try run(["data", "search", "--corpus", dir, "--like", file.path, "more words"])
        XCTAssertNotEqual(both.status, 0)
        XCTAssertTrue(both.stderr.contains("give no query words"), both.stderr)
        let missing = try run(["data", "search", "--corpus", dir, "--like", file.path + ".missing"])
        XCTAssertTrue(missing.status != 0 && missing.stderr.contains("cannot read"), missing.stderr)
        try Data().write(to: file)
        let empty = try run(["data", "search", "--corpus", dir, "--like", file.path])
        XCTAssertTrue(empty.status != 0 && empty.stderr.contains("the example is empty"), empty.stderr)
    }

    func testAnInterruptedBuildKeepsItsCheckpointAndResumesToTheSameFile() throws {
        let dir = try bareCopy(["documents.jsonl"])
        let reference = try bareCopy(["documents.jsonl"])
        _ = try object(run(["data", "index", "--semantic", "--corpus", reference.path, "--json"]))

        let child = try Subprocess(try Binary.path(), ["data", "index", "--semantic", "--corpus", dir.path])
        child.closeInput()
        let partial = dir.appendingPathComponent("semantic.bin.partial").path
        // Interrupt once a few documents are checkpointed.
        let deadline = Date().addingTimeInterval(300)
        while Date() < deadline {
            let size = (try? FileManager.default.attributesOfItem(atPath: partial)[.size] as? Int) ?? 0
            if size > 20_000 { break }
            usleep(50_000)
        }
        child.kill(SIGINT)
        var out = Data(), err = Data()
        XCTAssertTrue(child.readToEnd(stdout: &out, stderr: &err, deadline: Date().addingTimeInterval(300)))
        let status = child.wait()
        let stderr = String(decoding: err, as: UTF8.self)
        XCTAssertEqual(status.code, 130, stderr)
        XCTAssertTrue(stderr.contains("the checkpoint") && stderr.contains("run the same command again to resume"), stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: partial))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("semantic.bin").path))

        let resumed = try object(run(["data", "index", "--semantic", "--corpus", dir.path, "--json"]))
        let info = try XCTUnwrap(resumed["semantic"] as? [String: Any])
        XCTAssertGreaterThan(info["resumed_documents"] as? Int ?? 0, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: partial))
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("semantic.bin")),
                       try Data(contentsOf: reference.appendingPathComponent("semantic.bin")),
                       "the resumed index is byte for byte the uninterrupted one")
        let again = try run(["data", "index", "--semantic", "--corpus", dir.path])
        XCTAssertTrue(again.stdout.contains("is up to date"), again.stdout)
    }

    func testTheParaphrasedQuestionsAreFoundByMeaningWhereKeywordsFail() throws {
        let dir = try SemanticCorpus.directory().path
        let questions = SemanticCorpus.root.appendingPathComponent("organism/search-eval/questions.jsonl").path
        let r = try object(run(["data", "eval", questions, "--corpus", dir, "--k", "5", "--json"]))
        XCTAssertGreaterThanOrEqual(r["scored"] as? Int ?? 0, 20)
        let summary = try XCTUnwrap(r["summary"] as? [[String: Any]])
        func recall(_ mode: String) -> Double { summary.first { $0["mode"] as? String == mode }?["recall"] as? Double ?? -1 }
        print("recall@5 on the test slice: bm25 \(recall("bm25")), semantic \(recall("semantic")), hybrid \(recall("hybrid"))")
        XCTAssertGreaterThan(recall("semantic"), recall("bm25") + 0.2)
        XCTAssertGreaterThan(recall("hybrid"), recall("bm25") + 0.1)
        XCTAssertGreaterThan(recall("semantic"), 0.4)
    }
}
