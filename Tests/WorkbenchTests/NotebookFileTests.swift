import Foundation
import CSQLite
import Workbench
import XCTest

/// What the notebook does with files that are not (this version's) sessions, and with several
/// writers on one file.
final class NotebookFileTests: XCTestCase {
    var dir: URL!
    var file: String { dir.appendingPathComponent("session.workbench").path }

    override func setUpWithError() throws { dir = try notebookTemporaryDirectory(name) }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// A closed session with `count` notes of about `size` bytes, everything checkpointed into the
    /// main file (the last connection's close removes the WAL).
    func makeSession(count: Int, size: Int = 64) throws -> [NotebookEntry] {
        let notebook = try Notebook(path: file)
        var entries: [NotebookEntry] = []
        try notebook.batch {
            for i in 0..<count {
                entries.append(try notebook.add(.note, text: "note \(i) " + String(repeating: "x", count: size)))
            }
        }
        notebook.close()
        XCTAssertFalse(FileManager.default.fileExists(atPath: file + "-wal"), "close should checkpoint and remove the WAL")
        return entries
    }

    /// Overwrites bytes of the database header (SQLite keeps no checksum on the main file).
    func patchHeader(offset: UInt64, bigEndian value: UInt32) throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: file))
        defer { try? handle.close() }
        try handle.seek(toOffset: offset)
        try handle.write(contentsOf: withUnsafeBytes(of: value.bigEndian) { Data($0) })
    }

    func assertOpenFails(_ expected: (NotebookError) -> Bool, _ message: String, file testFile: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Notebook(path: file), file: testFile, line: line) { error in
            guard let error = error as? NotebookError else { return XCTFail("not a NotebookError: \(error)", file: testFile, line: line) }
            XCTAssertTrue(expected(error), "unexpected: \(error)", file: testFile, line: line)
            XCTAssertTrue(error.description.contains(self.file), "the message names the file: \(error)", file: testFile, line: line)
            XCTAssertTrue(error.description.contains(message), "\(error) lacks '\(message)'", file: testFile, line: line)
        }
    }

    func testNewFileIsAWALSessionWithTheSchemaVersion() throws {
        let notebook = try Notebook(path: file)
        try notebook.add(.note, text: "x")
        // The commit sits in the write-ahead log until the last connection's close checkpoints it.
        XCTAssertTrue(FileManager.default.fileExists(atPath: file + "-wal"))
        notebook.close()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        XCTAssertEqual(String(decoding: bytes.prefix(15), as: UTF8.self), "SQLite format 3")
        XCTAssertEqual(bytes[18], 2, "WAL write version")
        XCTAssertEqual(bytes[60..<64].reduce(0) { $0 << 8 | UInt32($1) }, UInt32(Notebook.schemaVersion))
        XCTAssertEqual(bytes[68..<72].reduce(0) { $0 << 8 | UInt32($1) }, UInt32(Notebook.applicationID))
    }

    func testAFileThatIsNotSQLiteIsRefusedAndLeftAlone() throws {
        let garbage = Data("This is a README, not a database.\n".utf8) + Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        try garbage.write(to: URL(fileURLWithPath: file))
        assertOpenFails({ if case .notASessionFile = $0 { return true }; return false }, "not a workbench session file")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: file)), garbage, "the file is not modified")
        XCTAssertThrowsError(try Notebook(path: file, create: false))
    }

    func testATruncatedSessionIsReportedAsDamaged() throws {
        let entries = try makeSession(count: 400, size: 200)
        XCTAssertEqual(entries.count, 400)
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: file)[.size] as? Int)
        XCTAssertGreaterThan(size, 16 * 4096)
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: file))
        try handle.truncate(atOffset: UInt64(size / 2))
        try handle.close()
        assertOpenFails({ if case .corrupt = $0 { return true }; return false }, "damaged")
    }

    func testASessionCutInsideItsHeaderIsRefused() throws {
        _ = try makeSession(count: 3)
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: file))
        try handle.truncate(atOffset: 60)
        try handle.close()
        assertOpenFails({
            switch $0 { case .corrupt, .notASessionFile: return true; default: return false }
        }, "session")
    }

    func testANewerSchemaIsRefusedWithTheVersions() throws {
        _ = try makeSession(count: 2)
        try patchHeader(offset: 60, bigEndian: 7) // user_version, as a newer workbench would write it
        assertOpenFails({ $0 == .newerSchema(path: self.file, found: 7, supported: Notebook.schemaVersion) }, "newer workbench (schema version 7")
    }

    func testAnotherProgramsSQLiteFileIsRefused() throws {
        _ = try makeSession(count: 2)
        try patchHeader(offset: 68, bigEndian: 0x1234_5678) // another application id
        assertOpenFails({ if case .notASessionFile = $0 { return true }; return false }, "another program (application id 0x12345678)")
        try patchHeader(offset: 68, bigEndian: 0) // no application id, but tables of its own
        assertOpenFails({ if case .notASessionFile = $0 { return true }; return false }, "another program (tables: artifacts, entries, meta, report)")
    }

    /// Table names are the file's own text: an error quotes excerpts of five of them at most.
    func testAnotherProgramsHugeTableNamesAreQuotedShort() throws {
        let name = String(repeating: "t", count: 100_000)
        var db: OpaquePointer?
        XCTAssertEqual(sqlite3_open(file, &db), SQLITE_OK)
        for i in 0..<8 { XCTAssertEqual(sqlite3_exec(db, "CREATE TABLE \"\(name)\(i)\" (x)", nil, nil, nil), SQLITE_OK) }
        sqlite3_close(db)
        XCTAssertThrowsError(try Notebook(path: file, create: false)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("another program (tables: ttt"), String(text.prefix(300)))
            XCTAssertTrue(text.contains(", ..."), String(text.prefix(300)))
            XCTAssertLessThan(text.utf8.count, 1000)
        }
    }

    func testOpeningWithoutCreateNeverMakesAFile() throws {
        XCTAssertThrowsError(try Notebook(path: file, create: false)) { XCTAssertEqual($0 as? NotebookError, .missing(path: self.file)) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: file))
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data()))
        XCTAssertThrowsError(try Notebook(path: file, create: false)) { error in
            guard case .notASessionFile(_, let reason)? = error as? NotebookError else { return XCTFail("\(error)") }
            XCTAssertEqual(reason, "the file is empty")
        }
        // An empty file is a new session when creating is allowed.
        XCTAssertNoThrow(try Notebook(path: file).close())
        XCTAssertThrowsError(try Notebook(path: dir.path)) { error in
            guard case .notASessionFile(_, let reason)? = error as? NotebookError else { return XCTFail("\(error)") }
            XCTAssertEqual(reason, "it is a directory")
        }
        XCTAssertThrowsError(try Notebook(path: dir.appendingPathComponent("no/such/dir/s.workbench").path)) { error in
            guard case .io? = error as? NotebookError else { return XCTFail("\(error)") }
        }
    }

    // MARK: - Two writers

    func testASecondWriterWaitsThenFailsBusyAndNothingIsCorrupted() throws {
        let first = try Notebook(path: file)
        let second = try Notebook(path: file, busyTimeout: 0.2)
        defer { first.close(); second.close() }
        let before = try second.add(.note, text: "before")
        try first.batch {
            try first.add(.note, text: "inside the first writer's transaction")
            // The first connection holds the write lock until its batch commits.
            XCTAssertThrowsError(try second.add(.note, text: "refused")) { error in
                XCTAssertEqual(error as? NotebookError, .busy(path: self.file, seconds: 0.2))
                XCTAssertTrue("\(error)".contains("is busy"))
            }
            // Readers are never blocked, and see only committed rows.
            XCTAssertEqual(try second.entries().map(\.text), ["before"])
        }
        let after = try second.add(.note, text: "after")
        XCTAssertEqual(try first.entries().map(\.text), ["before", "inside the first writer's transaction", "after"])
        XCTAssertEqual(try second.entries().map(\.id), [before.id, before.id + 1, after.id])
        XCTAssertEqual(try second.integrityCheck(), ["ok"])
    }

    func testTwoNotebooksWritingTogetherKeepEveryAcknowledgedRow() throws {
        let notebooks = [try Notebook(path: file), try Notebook(path: file)]
        defer { notebooks.forEach { $0.close() } }
        final class Log: @unchecked Sendable {
            let lock = NSLock()
            var acknowledged: [Int64: String] = [:]
            var errors: [String] = []
        }
        let log = Log()
        DispatchQueue.concurrentPerform(iterations: 2) { writer in
            for i in 0..<60 {
                let text = "writer \(writer) note \(i) \u{1b}[1m"
                do {
                    let entry = try notebooks[writer].add(.note, text: text, source: "test")
                    log.lock.lock(); log.acknowledged[entry.id] = text; log.lock.unlock()
                } catch {
                    log.lock.lock(); log.errors.append("\(error)"); log.lock.unlock()
                }
            }
        }
        // The default 5 s timeout is far longer than one commit: every write gets its turn.
        XCTAssertEqual(log.errors, [])
        XCTAssertEqual(log.acknowledged.count, 120)
        let reopened = try Notebook(path: file)
        defer { reopened.close() }
        XCTAssertEqual(try reopened.integrityCheck(), ["ok"])
        let stored = Dictionary(uniqueKeysWithValues: try reopened.entries().map { ($0.id, $0.text) })
        XCTAssertEqual(stored, log.acknowledged)
    }
}
