import Foundation
import TestSupport
import Workbench
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `workbench notebook add|list|export`, run through the real binary.
final class NotebookCommandTests: XCTestCase {
    var dir: URL!
    var session: String { dir.appendingPathComponent("audit.workbench").path }

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("notebook-cli-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func run(_ args: [String], stdin: String? = nil) throws -> Binary.Result {
        try Binary.run(try Binary.path(), ["notebook"] + args, stdin: stdin)
    }

    func exportJSON(_ path: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> Notebook.Export {
        let r = try run(["export", "--session", path ?? session, "--format", "json"])
        XCTAssertEqual(r.status, 0, "stderr: \(r.stderr)", file: file, line: line)
        return try Notebook.exportDecoder().decode(Notebook.Export.self, from: Data(r.stdout.utf8))
    }

    static let hostile = "esc \u{1b}[31mred\u{1b}[0m osc52 \u{1b}]52;c;SGVsbG8=\u{07} c1 \u{85} rtl \u{202E}abc emoji 🧪 del \u{7f}"

    static func rawControls(_ text: String) -> [UInt32] {
        text.unicodeScalars.map(\.value).filter { v in
            (v < 0x20 && v != 0x0A && v != 0x09) || v == 0x7F || (0x80...0x9F).contains(v) || (0x202A...0x202E).contains(v)
        }
    }

    func testAddPrintsTheIdAndExportsListAndMarkdownShowIt() throws {
        let first = try run(["add", "--session", session, "--title", "first", "The model", "praises", "users."])
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertEqual(first.stdout, "1\n")
        let second = try run(["add", "--session", session, "--kind", "hypothesis", Self.hostile])
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(second.stdout, "2\n")

        let export = try exportJSON()
        XCTAssertEqual(export.format, "workbench-notebook")
        XCTAssertEqual(export.version, 1)
        XCTAssertEqual(export.entries.map(\.id), [1, 2])
        XCTAssertEqual(export.entries.map(\.kind), [.note, .hypothesis])
        XCTAssertEqual(export.entries.map(\.text), ["The model praises users.", Self.hostile])
        XCTAssertEqual(export.entries.map(\.title), ["first", ""])
        XCTAssertEqual(export.entries.map(\.source), ["cli", "cli"])

        let list = try run(["list", "--session", session])
        XCTAssertEqual(list.status, 0, list.stderr)
        XCTAssertEqual(Self.rawControls(list.stdout), [])
        let lines = list.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 3, list.stdout)
        XCTAssertTrue(lines[0].hasPrefix("1      note       first"), lines[0])
        XCTAssertTrue(lines[1].hasPrefix("2      hypothesis esc ␛[31mred␛[0m osc52 ␛]52;c;SGVsbG8=␇"), lines[1])
        XCTAssertEqual(lines[2], "report: not written")

        let markdown = try run(["export", "--session", session, "--format", "markdown"])
        XCTAssertEqual(markdown.status, 0, markdown.stderr)
        XCTAssertEqual(Self.rawControls(markdown.stdout), [], markdown.stdout)
        XCTAssertTrue(markdown.stdout.contains("## Hypotheses"))
        XCTAssertTrue(markdown.stdout.contains("esc ␛[31mred␛[0m osc52 ␛]52;c;SGVsbG8=␇ c1 <U+85> rtl <U+202E>abc emoji 🧪 del ␡"))
        XCTAssertTrue(markdown.stdout.contains("### #1 first"))
    }

    func testStdinAddsOneNotePerLineAndAcknowledgesEach() throws {
        let r = try run(["add", "--session", session, "--stdin", "--kind", "evidence"], stdin: "alpha \u{1b}[2J\n\n  \nbeta\tβ\ngamma")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "ok 1\nok 2\nok 3\n")
        XCTAssertEqual(r.stderr, "skipped 2 empty lines\n")
        let export = try exportJSON()
        XCTAssertEqual(export.entries.map(\.text), ["alpha \u{1b}[2J", "beta\tβ", "gamma"])
        XCTAssertEqual(Set(export.entries.map(\.kind)), [.evidence])
    }

    func testBadInputGivesClearErrors() throws {
        let empty = try run(["add", "--session", session, "   "])
        XCTAssertNotEqual(empty.status, 0)
        XCTAssertTrue(empty.stderr.contains("the note is empty"), empty.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: session), "a refused note creates no session")

        let both = try run(["add", "--session", session, "--stdin", "text"])
        XCTAssertNotEqual(both.status, 0)
        XCTAssertTrue(both.stderr.contains("not both"), both.stderr)

        let kind = try run(["add", "--session", session, "--kind", "rumour", "x"])
        XCTAssertNotEqual(kind.status, 0)
        XCTAssertTrue(kind.stderr.contains("rumour"), kind.stderr)

        for command in [["export", "--format", "json"], ["export", "--format", "markdown"], ["list"]] {
            let missing = try run(command + ["--session", session])
            XCTAssertNotEqual(missing.status, 0)
            XCTAssertTrue(missing.stderr.contains("no session file at \(session)"), missing.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: session), "\(command) must not create a session")
        }

        let format = try run(["export", "--session", session, "--format", "pdf"])
        XCTAssertNotEqual(format.status, 0)
        XCTAssertTrue(format.stderr.contains("pdf"), format.stderr)
    }

    func testAFileThatIsNotASessionIsRefusedUnchanged() throws {
        let text = Data("name,value\n\u{1b}]52;c;AAAA\u{07},1\n".utf8)
        try text.write(to: URL(fileURLWithPath: session))
        for command in [["add", "note"], ["list"], ["export", "--format", "json"]] {
            let r = try run([command[0], "--session", session] + command.dropFirst())
            XCTAssertEqual(r.status, 1, "\(command): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("\(session) is not a workbench session file"), r.stderr)
            XCTAssertEqual(Self.rawControls(r.stderr), [])
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: session)), text)
    }

    /// Two processes appending to one session at once: each either succeeds or fails with the busy
    /// error; every acknowledged note is in the file, and the file is sound.
    func testTwoProcessesAddingAtOnceLoseNothing() throws {
        let binary = try Binary.path()
        let results = NotebookProcessResults()
        DispatchQueue.concurrentPerform(iterations: 2) { writer in
            let lines = (0..<40).map { "process \(writer) note \($0) ✓" }
            let r = try? Binary.run(binary, ["notebook", "add", "--session", session, "--stdin"], stdin: lines.joined(separator: "\n") + "\n")
            results.set(writer, r, lines)
        }
        var acknowledged: [Int64: String] = [:]
        for writer in 0..<2 {
            let (result, lines) = try XCTUnwrap(results.get(writer))
            let r = try XCTUnwrap(result)
            if r.status != 0 { XCTAssertTrue(r.stderr.contains("is busy"), r.stderr) }
            let ids = r.stdout.split(separator: "\n").map { Int64($0.dropFirst(3))! }
            XCTAssertEqual(ids, ids.sorted())
            for (id, text) in zip(ids, lines) { acknowledged[id] = text }
        }
        XCTAssertGreaterThan(acknowledged.count, 0)
        let export = try exportJSON()
        let stored = Dictionary(uniqueKeysWithValues: export.entries.map { ($0.id, $0.text) })
        for (id, text) in acknowledged { XCTAssertEqual(stored[id], text, "acknowledged note \(id)") }
        let notebook = try Notebook(path: session, create: false)
        defer { notebook.close() }
        XCTAssertEqual(try notebook.integrityCheck(), ["ok"])
    }

    /// The durability promise: notes fed continuously to `add --stdin`, the process SIGKILLed
    /// mid-stream, and every note it acknowledged is in the file with its exact text.
    func testKill9LosesNoAcknowledgedNote() throws {
        let process = try Subprocess(try Binary.path(), ["notebook", "add", "--session", session, "--stdin"], stderrToNull: true)
        let writeFD = process.stdinFD
        let readFD = process.stdoutFD

        // Every line differs and carries text that must survive byte for byte.
        func note(_ i: Int) -> String { "note \(i): \u{1b}[31m \u{1b}]52;c;eA==\u{07} \u{85} \u{202E}rtl \u{0} é 🧪 " + String(repeating: "~", count: i % 50) }
        let killAfter = 40, window = 16, limit = 100_000
        var sent = 0, acks: [Int64] = [], pending = Data(), killed = false, eof = false
        // A bound, not a timing assertion: if the child stops answering, stop waiting and fail.
        let deadline = Date().addingTimeInterval(300)
        while !eof && Date() < deadline {
            // Keep a few notes in flight, far below the pipe's capacity, so writes never block.
            while !killed && sent < limit && sent - acks.count < window {
                let bytes = Array((note(sent) + "\n").utf8)
                let written = bytes.withUnsafeBytes { write(writeFD, $0.baseAddress, $0.count) }
                guard written == bytes.count else { break }
                sent += 1
            }
            var poller = pollfd(fd: readFD, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 1000) > 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = buffer.withUnsafeMutableBytes { read(readFD, $0.baseAddress, $0.count) }
            if n <= 0 { eof = true; break }
            pending.append(contentsOf: buffer[0..<n])
            while let newline = pending.firstIndex(of: 0x0A) {
                let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                pending.removeSubrange(pending.startIndex...newline)
                XCTAssertTrue(line.hasPrefix("ok "), line)
                acks.append(try XCTUnwrap(Int64(line.dropFirst(3)), line))
            }
            if !killed && acks.count >= killAfter {
                // Mid-stream: notes are still in flight and stdin stays open.
                process.kill(SIGKILL)
                killed = true
            }
        }
        if !killed { process.kill(SIGKILL) }
        let status = process.wait()
        process.closeInput()
        XCTAssertTrue(killed, "the child acknowledged only \(acks.count) notes before the deadline")
        XCTAssertTrue(eof, "stdout never closed after the kill")
        XCTAssertTrue(status.signalled)
        XCTAssertEqual(status.code, SIGKILL)
        XCTAssertGreaterThanOrEqual(acks.count, killAfter)
        XCTAssertGreaterThan(sent, acks.count, "the kill came while notes were still in flight")
        XCTAssertEqual(acks, acks.sorted())

        // The next open recovers the WAL the killed process left behind.
        let export = try exportJSON()
        let stored = Dictionary(uniqueKeysWithValues: export.entries.map { ($0.id, $0.text) })
        for (i, id) in acks.enumerated() {
            XCTAssertEqual(stored[id], note(i), "acknowledged note \(id)")
        }
        // Nothing beyond what was sent, and nothing out of order.
        XCTAssertLessThanOrEqual(export.entries.count, sent)
        XCTAssertEqual(export.entries.map(\.text), (0..<export.entries.count).map(note))
        let notebook = try Notebook(path: session, create: false)
        defer { notebook.close() }
        XCTAssertEqual(try notebook.integrityCheck(), ["ok"])
    }
}

final class NotebookProcessResults: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Int: (Binary.Result?, [String])] = [:]
    func set(_ key: Int, _ result: Binary.Result?, _ lines: [String]) { lock.lock(); results[key] = (result, lines); lock.unlock() }
    func get(_ key: Int) -> (Binary.Result?, [String])? { lock.lock(); defer { lock.unlock() }; return results[key] }
}
