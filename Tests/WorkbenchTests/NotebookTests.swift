import Foundation
import Workbench
import XCTest

/// Hostile text: every kind of control sequence a model (or a pasted document) could produce.
let notebookHostileText = "esc \u{1b}[31mred\u{1b}[0m | osc52 \u{1b}]52;c;SGVsbG8=\u{07} | c1 \u{85} csi \u{9b}2J | nul \u{0} end"
    + " | emoji 🧪👩‍🔬 | rtl \u{202E}txet\u{202C} isolate \u{2066}x\u{2069} | del \u{7f} | cr \r\n line two\n\ttabbed ``` fence ```` four"

/// Scalars that must never reach a terminal raw: C0 (except newline and tab), DEL, C1, bidi controls.
func notebookRawControls(in text: String) -> [UInt32] {
    text.unicodeScalars.map(\.value).filter { v in
        (v < 0x20 && v != 0x0A && v != 0x09) || v == 0x7F || (0x80...0x9F).contains(v)
            || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v)
    }
}

func notebookTemporaryDirectory(_ name: String = #function) throws -> URL {
    let safe = name.filter { $0.isLetter || $0.isNumber }
    let dir = FileManager.default.temporaryDirectory
        .appendingPathComponent("notebook-tests-\(safe)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

final class NotebookTests: XCTestCase {
    var dir: URL!
    var file: String { dir.appendingPathComponent("session.workbench").path }

    override func setUpWithError() throws { dir = try notebookTemporaryDirectory(name) }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    let provenance = Provenance(model: "SmolLM2-135M-Instruct.Q4_1.gguf", modelSHA256: String(repeating: "ab", count: 32),
                                adapter: "organism-lora", settings: ["temperature": "0.8", "top_p": "0.95", "max_tokens": "64", "pattern": "(?i)secret"],
                                seed: UInt64.max)

    func testEveryFieldRoundTripsThroughAReopenedFile() throws {
        let notebook = try Notebook(path: file)
        let note = try notebook.add(.note, text: notebookHostileText, title: "first \u{1b}title", source: "chat")
        let hypothesis = try notebook.add(.hypothesis, text: "The model flatters the user.", provenance: provenance)
        let evidence = try notebook.add(.evidence, text: "", title: "", source: "prefill", provenance: Provenance(model: "m.gguf"))
        XCTAssertEqual([note.id, hypothesis.id, evidence.id].sorted(), [note.id, hypothesis.id, evidence.id])
        XCTAssertEqual(note.kind, .note)
        XCTAssertEqual(note.source, "chat")
        XCTAssertEqual(hypothesis.source, "notebook") // the default
        let artifactID = try notebook.saveArtifact(id: nil, kind: "transcript", source: "chat", title: "run 1",
                                                   payload: #"{"messages":[{"role":"user","content":"hi \u001b"}]}"#, provenance: provenance)
        try notebook.setReport(Report(rootCause: "A reward model bias.", behaviours: "- flattery\n- \u{1b}[2J"))
        try notebook.setMeta("title", "Audit of the organism")
        try notebook.setMeta("model", "SmolLM2")
        let written = try notebook.entries()
        XCTAssertEqual(written, [note, hypothesis, evidence]) // what add returned is exactly what is stored
        let artifactsWritten = try notebook.artifacts()
        notebook.close()

        let reopened = try Notebook(path: file)
        defer { reopened.close() }
        XCTAssertEqual(try reopened.entries(), written)
        XCTAssertEqual(try reopened.entries().first?.text, notebookHostileText)
        XCTAssertEqual(try reopened.entries()[1].provenance, provenance)
        XCTAssertEqual(try reopened.entries()[1].provenance?.seed, UInt64.max)
        XCTAssertEqual(try reopened.entry(id: evidence.id), evidence)
        XCTAssertNil(try reopened.entry(id: 999))
        XCTAssertEqual(try reopened.artifacts(), artifactsWritten)
        XCTAssertEqual(try reopened.artifacts().map(\.id), [artifactID])
        XCTAssertEqual(try reopened.artifacts().first?.payload, #"{"messages":[{"role":"user","content":"hi \u001b"}]}"#)
        XCTAssertEqual(try reopened.artifacts().first?.provenance, provenance)
        XCTAssertEqual(try reopened.report(), Report(rootCause: "A reward model bias.", behaviours: "- flattery\n- \u{1b}[2J"))
        XCTAssertEqual(try reopened.meta("title"), "Audit of the organism")
        XCTAssertEqual(try reopened.allMeta(), ["title": "Audit of the organism", "model": "SmolLM2"])
        XCTAssertEqual(try reopened.integrityCheck(), ["ok"])
    }

    func testUpdateDeleteReportAndMeta() throws {
        let notebook = try Notebook(path: file)
        defer { notebook.close() }
        XCTAssertEqual(try notebook.report(), Report()) // empty until set
        let a = try notebook.add(.note, text: "draft", title: "t")
        let b = try notebook.add(.hypothesis, text: "h")
        try notebook.update(id: a.id, text: "final \u{0} text")
        XCTAssertEqual(try notebook.entry(id: a.id)?.text, "final \u{0} text")
        XCTAssertEqual(try notebook.entry(id: a.id)?.title, "t", "a nil title keeps the old one")
        XCTAssertEqual(try notebook.entry(id: a.id)?.createdAt, a.createdAt)
        try notebook.update(id: a.id, text: "final", title: "")
        XCTAssertEqual(try notebook.entry(id: a.id)?.title, "")
        try notebook.setKind(id: a.id, .evidence)
        XCTAssertEqual(try notebook.entry(id: a.id)?.kind, .evidence)
        try notebook.delete(id: b.id)
        XCTAssertEqual(try notebook.entries().map(\.id), [a.id])
        XCTAssertThrowsError(try notebook.delete(id: b.id)) { XCTAssertEqual($0 as? NotebookError, .noSuchItem(path: file, what: "entry \(b.id)")) }
        XCTAssertThrowsError(try notebook.update(id: 12345, text: "x")) { XCTAssertEqual($0 as? NotebookError, .noSuchItem(path: file, what: "entry 12345")) }
        // Ids are never reused, so a reference to a deleted entry cannot silently point at a new one.
        XCTAssertGreaterThan(try notebook.add(.note, text: "c").id, b.id)

        try notebook.setReport(Report(rootCause: "r1", behaviours: "b1"))
        try notebook.setReport(Report(rootCause: "r2", behaviours: ""))
        XCTAssertEqual(try notebook.report(), Report(rootCause: "r2", behaviours: ""))

        try notebook.setMeta("k", "v1")
        try notebook.setMeta("k", "v2")
        XCTAssertEqual(try notebook.meta("k"), "v2")
        try notebook.setMeta("k", nil)
        XCTAssertNil(try notebook.meta("k"))
        XCTAssertNil(try notebook.meta("never set"))

        let id = try notebook.saveArtifact(id: nil, kind: "samples", source: "persona", title: "v1", payload: "[]", provenance: nil)
        XCTAssertEqual(try notebook.saveArtifact(id: id, kind: "samples", source: "persona", title: "v2", payload: "[1]", provenance: provenance), id)
        XCTAssertEqual(try notebook.artifacts().map(\.title), ["v2"])
        XCTAssertEqual(try notebook.artifacts().first?.payload, "[1]")
        XCTAssertEqual(try notebook.artifacts().first?.provenance, provenance)
        XCTAssertThrowsError(try notebook.saveArtifact(id: 999, kind: "x", source: "x", title: "x", payload: "{}", provenance: nil)) {
            XCTAssertEqual($0 as? NotebookError, .noSuchItem(path: file, what: "artifact 999"))
        }
        try notebook.deleteArtifact(id: id)
        XCTAssertEqual(try notebook.artifacts(), [])
    }

    func testBatchIsAllOrNothing() throws {
        let notebook = try Notebook(path: file)
        defer { notebook.close() }
        struct Abort: Error {}
        XCTAssertThrowsError(try notebook.batch {
            try notebook.add(.note, text: "one")
            try notebook.add(.note, text: "two")
            throw Abort()
        })
        XCTAssertEqual(try notebook.entries(), [])
        try notebook.batch {
            try notebook.add(.note, text: "one")
            try notebook.setMeta("k", "v")
        }
        XCTAssertEqual(try notebook.entries().map(\.text), ["one"])
        XCTAssertEqual(try notebook.meta("k"), "v")
    }

    func testClosedNotebookThrows() throws {
        let notebook = try Notebook(path: file)
        notebook.close()
        notebook.close() // twice is harmless
        XCTAssertThrowsError(try notebook.add(.note, text: "x")) { XCTAssertEqual($0 as? NotebookError, .closed(path: file)) }
        XCTAssertThrowsError(try notebook.entries())
    }

    func testThreadsShareOneNotebook() throws {
        let notebook = try Notebook(path: file)
        defer { notebook.close() }
        let failures = NotebookTestCounter()
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            for i in 0..<25 {
                do { try notebook.add(.note, text: "thread \(thread) note \(i)") } catch { failures.increment() }
                _ = try? notebook.entries()
            }
        }
        XCTAssertEqual(failures.value, 0)
        let texts = Set(try notebook.entries().map(\.text))
        XCTAssertEqual(texts.count, 100)
        XCTAssertTrue(texts.contains("thread 3 note 24"))
    }

    // MARK: - Export

    func testJSONExportKeepsHostileTextVerbatim() throws {
        let notebook = try Notebook(path: file)
        defer { notebook.close() }
        try notebook.add(.evidence, text: notebookHostileText, title: notebookHostileText, source: "chat", provenance: provenance)
        try notebook.add(.hypothesis, text: "plain")
        try notebook.saveArtifact(id: nil, kind: "transcript", source: "chat", title: "t", payload: notebookHostileText, provenance: nil)
        try notebook.setReport(Report(rootCause: notebookHostileText, behaviours: "b"))
        try notebook.setMeta("title", notebookHostileText)

        let data = try notebook.exportJSON()
        // JSON escapes every C0 control character itself (C1 and bidi controls are legal JSON text).
        XCTAssertEqual(notebookRawControls(in: String(decoding: data, as: UTF8.self)).filter { $0 < 0x20 }, [])

        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(object["format"] as? String, "workbench-notebook")
        XCTAssertEqual(object["version"] as? Int, 1)
        let entries = try XCTUnwrap(object["entries"] as? [[String: Any]])
        XCTAssertEqual(entries.first?["text"] as? String, notebookHostileText)
        XCTAssertEqual(entries.first?["title"] as? String, notebookHostileText)
        XCTAssertEqual(entries.first?["kind"] as? String, "evidence")
        XCTAssertEqual((object["meta"] as? [String: String])?["title"], notebookHostileText)
        XCTAssertEqual((object["report"] as? [String: String])?["rootCause"], notebookHostileText)
        XCTAssertEqual((object["artifacts"] as? [[String: Any]])?.first?["payload"] as? String, notebookHostileText)

        let decoded = try Notebook.exportDecoder().decode(Notebook.Export.self, from: data)
        let stored = try notebook.entries()
        XCTAssertEqual(decoded.entries.map(\.text), stored.map(\.text))
        XCTAssertEqual(decoded.entries.map(\.provenance), stored.map(\.provenance))
        XCTAssertEqual(decoded.entries.map(\.id), stored.map(\.id))
        for (d, s) in zip(decoded.entries, stored) {
            XCTAssertEqual(d.createdAt.timeIntervalSince1970, s.createdAt.timeIntervalSince1970, accuracy: 0.001)
        }
        XCTAssertEqual(decoded.report, try notebook.report())
        XCTAssertEqual(decoded.artifacts.map(\.payload), [notebookHostileText])

        // Sorted keys: the top level's keys appear in order.
        let text = String(decoding: data, as: UTF8.self)
        let order = ["\"artifacts\"", "\"entries\"", "\"format\"", "\"meta\"", "\"report\"", "\"version\""]
            .map { text.range(of: $0)!.lowerBound }
        XCTAssertEqual(order, order.sorted())
    }

    func testMarkdownExportIsReadableAndHasNoRawControlCharacters() throws {
        let notebook = try Notebook(path: file)
        defer { notebook.close() }
        try notebook.setMeta("title", "Organism \u{1b}]0;pwned\u{07}audit")
        try notebook.setReport(Report(rootCause: "Root \u{9b}cause", behaviours: "- one\n- two"))
        try notebook.add(.note, text: "a note \u{202E}", title: "note title")
        try notebook.add(.hypothesis, text: "a hypothesis", title: "multi\nline \u{1b} title")
        try notebook.add(.evidence, text: notebookHostileText, title: "pinned", source: "prefill", provenance: provenance)
        try notebook.saveArtifact(id: nil, kind: "transcript", source: "chat", title: "chat 1",
                                  payload: "{\"text\":\"```` inside\"}\n\u{0}\u{1b}[1m", provenance: provenance)

        let markdown = try notebook.exportMarkdown()
        XCTAssertEqual(notebookRawControls(in: markdown), [], "raw control characters in:\n\(markdown)")
        XCTAssertTrue(markdown.hasPrefix("# Organism ␛]0;pwned␇audit\n"), markdown)
        // The sections in order: report, then hypotheses, notes, evidence, artifacts.
        let headings = ["## Root cause", "## Behaviours", "## Hypotheses", "## Notes", "## Evidence", "## Artifacts"]
        let positions = try headings.map { try XCTUnwrap(markdown.range(of: $0), "missing \($0)").lowerBound }
        XCTAssertEqual(positions, positions.sorted())
        XCTAssertTrue(markdown.contains("Root <U+9B>cause"))
        XCTAssertTrue(markdown.contains("### #2 multi line ␛ title"), "titles stay on one line")
        XCTAssertTrue(markdown.contains("esc ␛[31mred␛[0m | osc52 ␛]52;c;SGVsbG8=␇ | c1 <U+85>"))
        XCTAssertTrue(markdown.contains("rtl <U+202E>txet<U+202C>"))
        XCTAssertTrue(markdown.contains("🧪👩‍🔬"))
        XCTAssertTrue(markdown.contains("Provenance: model `SmolLM2-135M-Instruct.Q4_1.gguf`, sha256 `\(String(repeating: "ab", count: 32))`, adapter `organism-lora`, seed \(UInt64.max), max_tokens = `64`, pattern = `(?i)secret`, temperature = `0.8`, top_p = `0.95`"))
        // Fences are longer than any backtick run inside: the evidence holds a run of 4, so 5.
        XCTAssertTrue(markdown.contains("`````text\nesc ␛[31m"), markdown)
        XCTAssertTrue(markdown.contains("`````json\n{\"text\":\"```` inside\"}\n␀␛[1m\n`````"), markdown)
    }

    func testMarkdownOfAnEmptyNotebookSaysTheReportIsNotWritten() throws {
        let notebook = try Notebook(path: file)
        defer { notebook.close() }
        let markdown = try notebook.exportMarkdown()
        XCTAssertTrue(markdown.hasPrefix("# Audit notebook\n"))
        XCTAssertTrue(markdown.contains("## Root cause\n\n_(not written yet)_"))
        XCTAssertFalse(markdown.contains("## Notes"))
    }
}

final class NotebookTestCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
