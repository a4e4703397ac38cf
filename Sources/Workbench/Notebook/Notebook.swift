import Foundation
import Model

/// The auditor's session: one SQLite file holding every note, hypothesis, pinned piece of evidence,
/// saved transcript or sample set, and the final report, with the provenance needed to reproduce
/// each result.
///
/// Durability: WAL journal with `synchronous=FULL`, so a write is on disk when its method returns
/// and a killed process (kill -9) loses nothing that was acknowledged. Several processes may open
/// the same file; writers take turns, and one that waits longer than `busyTimeout` gets
/// `NotebookError.busy` with nothing written. Every method is thread-safe.
public final class Notebook: @unchecked Sendable {
    public let path: String
    public let busyTimeout: Double

    /// The schema this build writes and the newest it can read.
    public static let schemaVersion: Int32 = 1
    /// Marks the file as a workbench session ("WBNK"), so another program's SQLite file is refused.
    public static let applicationID: Int32 = 0x5742_4E4B

    private let db: SQLiteDatabase
    // Recursive so that `batch` can call the public methods from inside its body.
    private let lock = NSRecursiveLock()
    private var transactionDepth = 0

    /// Opens the session at `path`, creating the file if it is missing.
    public convenience init(path: String, busyTimeout: Double = 5) throws {
        try self.init(path: path, busyTimeout: busyTimeout, create: true)
    }

    /// With `create: false` a missing file is `NotebookError.missing` and an empty one is refused,
    /// so reading commands never leave a new file behind.
    public init(path: String, busyTimeout: Double = 5, create: Bool) throws {
        self.path = path
        self.busyTimeout = busyTimeout
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        if exists && isDirectory.boolValue { throw NotebookError.notASessionFile(path: path, reason: "it is a directory") }
        if !exists && !create { throw NotebookError.missing(path: path) }
        db = try SQLiteDatabase(path: path, create: create, busyTimeout: busyTimeout)
        do {
            try prepareFile(create: create)
        } catch {
            db.close()
            throw error
        }
    }

    deinit { db.close() }

    /// Checks what the file is before changing anything in it, then switches to WAL and creates
    /// the schema in a fresh file.
    private func prepareFile(create: Bool) throws {
        // The first read is where SQLite notices a file that is not a database.
        let header = try readHeader()
        let check = try db.strings("PRAGMA quick_check")
        guard check == ["ok"] else {
            throw NotebookError.corrupt(path: path, detail: check.prefix(3).map { UntrustedText.excerpt($0) }.joined(separator: "; "))
        }
        var fresh = try classify(header)
        if fresh && !create {
            throw NotebookError.notASessionFile(path: path, reason: "the file is empty")
        }
        let mode = try db.strings("PRAGMA journal_mode=WAL").first ?? ""
        guard mode.lowercased() == "wal" else {
            throw NotebookError.io(path: path, detail: "cannot use write-ahead logging (journal mode stays '\(UntrustedText.excerpt(mode, limit: 40))')")
        }
        try db.execute("PRAGMA synchronous=FULL")
        guard fresh else { return }
        try batch {
            // Another process may have created the schema since we looked.
            fresh = try classify(try readHeader())
            guard fresh else { return }
            try db.execute("""
                CREATE TABLE entries (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    kind TEXT NOT NULL CHECK (kind IN ('note', 'hypothesis', 'evidence')),
                    created_ms INTEGER NOT NULL,
                    updated_ms INTEGER NOT NULL,
                    source TEXT NOT NULL,
                    title TEXT NOT NULL,
                    text TEXT NOT NULL,
                    provenance TEXT
                );
                CREATE TABLE artifacts (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    kind TEXT NOT NULL,
                    source TEXT NOT NULL,
                    title TEXT NOT NULL,
                    payload TEXT NOT NULL,
                    provenance TEXT,
                    updated_ms INTEGER NOT NULL
                );
                CREATE TABLE report (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    root_cause TEXT NOT NULL,
                    behaviours TEXT NOT NULL,
                    updated_ms INTEGER NOT NULL
                );
                CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
                PRAGMA application_id = \(Self.applicationID);
                PRAGMA user_version = \(Self.schemaVersion);
                """)
        }
    }

    private struct Header { var applicationID: Int64; var version: Int64; var tables: [String] }

    private func readHeader() throws -> Header {
        Header(applicationID: try db.int64("PRAGMA application_id"),
               version: try db.int64("PRAGMA user_version"),
               tables: try db.strings("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite!_%' ESCAPE '!' ORDER BY name"))
    }

    /// Table names as an error quotes them: the file's own text, so at most five, each an excerpt.
    static func tableList(_ tables: [String]) -> String {
        tables.prefix(5).map { UntrustedText.excerpt($0, limit: 60) }.joined(separator: ", ") + (tables.count > 5 ? ", ..." : "")
    }

    /// true: an empty database to initialise; throws for a file that is not (this version's) session.
    private func classify(_ header: Header) throws -> Bool {
        if header.applicationID == Int64(Self.applicationID) {
            if header.version > Int64(Self.schemaVersion) {
                throw NotebookError.newerSchema(path: path, found: Int32(clamping: header.version), supported: Self.schemaVersion)
            }
            let required = ["artifacts", "entries", "meta", "report"]
            guard header.version == Int64(Self.schemaVersion), required.allSatisfy(header.tables.contains) else {
                throw NotebookError.corrupt(path: path, detail: "schema version \(header.version) with tables [\(Self.tableList(header.tables))]")
            }
            return false
        }
        if header.applicationID != 0 {
            throw NotebookError.notASessionFile(
                path: path, reason: "a SQLite database of another program (application id 0x\(String(UInt32(truncatingIfNeeded: header.applicationID), radix: 16)))")
        }
        if !header.tables.isEmpty {
            throw NotebookError.notASessionFile(path: path, reason: "a SQLite database of another program (tables: \(Self.tableList(header.tables)))")
        }
        return true
    }

    // MARK: - Locking and transactions

    private func locked<T>(_ body: () throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        guard db.isOpen else { throw NotebookError.closed(path: path) }
        return try body()
    }

    /// Runs `body` as one transaction: every change in it is written together, or none is. Other
    /// threads wait; other processes see nothing until it commits. Calls nest.
    @discardableResult
    public func batch<T>(_ body: () throws -> T) throws -> T {
        try batch(immediate: true, body)
    }

    func batch<T>(immediate: Bool, _ body: () throws -> T) throws -> T {
        try locked {
            if transactionDepth == 0 {
                // IMMEDIATE takes the write lock now, so waiting for another writer happens here,
                // under the busy timeout, and never half way through.
                try db.execute(immediate ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED")
            }
            transactionDepth += 1
            let result: T
            do {
                result = try body()
            } catch {
                transactionDepth -= 1
                if transactionDepth == 0 { try? db.execute("ROLLBACK") }
                throw error
            }
            transactionDepth -= 1
            if transactionDepth == 0 {
                do {
                    try db.execute("COMMIT")
                } catch {
                    try? db.execute("ROLLBACK")
                    throw error
                }
            }
            return result
        }
    }

    // MARK: - Entries

    private static func nowMilliseconds() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded())
    }

    /// Dates are stored as whole milliseconds, and the returned values are built from the stored
    /// number, so what `add` returns equals what `entries()` reads back.
    static func date(milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    private func encode(_ provenance: Provenance?) throws -> String? {
        guard let provenance else { return nil }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(provenance), as: UTF8.self)
    }

    private func decodeProvenance(_ text: String?, row: Int64, table: String) throws -> Provenance? {
        guard let text else { return nil }
        do {
            return try JSONDecoder().decode(Provenance.self, from: Data(text.utf8))
        } catch {
            throw NotebookError.corrupt(path: path, detail: "unreadable provenance in \(table) row \(row)")
        }
    }

    /// Adds an entry; it is on disk when this returns.
    @discardableResult
    public func add(_ kind: EntryKind, text: String, title: String = "", source: String = "notebook",
                    provenance: Provenance? = nil) throws -> NotebookEntry {
        try batch {
            let now = Self.nowMilliseconds()
            let stmt = try db.prepare("""
                INSERT INTO entries (kind, created_ms, updated_ms, source, title, text, provenance)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """)
            try stmt.bind([kind.rawValue, now, now, source, title, text, try encode(provenance)])
            try stmt.step()
            return NotebookEntry(id: db.lastInsertRowID, kind: kind, createdAt: Self.date(milliseconds: now),
                                 source: source, title: title, text: text, provenance: provenance)
        }
    }

    /// Replaces an entry's text (and title, unless nil).
    public func update(id: Int64, text: String, title: String? = nil) throws {
        try batch {
            let stmt = try db.prepare("UPDATE entries SET text = ?, title = coalesce(?, title), updated_ms = ? WHERE id = ?")
            try stmt.bind([text, title, Self.nowMilliseconds(), id])
            try stmt.step()
            if db.changes == 0 { throw NotebookError.noSuchItem(path: path, what: "entry \(id)") }
        }
    }

    /// Changes an entry's kind (a note promoted to a hypothesis, say).
    public func setKind(id: Int64, _ kind: EntryKind) throws {
        try batch {
            let stmt = try db.prepare("UPDATE entries SET kind = ?, updated_ms = ? WHERE id = ?")
            try stmt.bind([kind.rawValue, Self.nowMilliseconds(), id])
            try stmt.step()
            if db.changes == 0 { throw NotebookError.noSuchItem(path: path, what: "entry \(id)") }
        }
    }

    public func delete(id: Int64) throws {
        try batch {
            let stmt = try db.prepare("DELETE FROM entries WHERE id = ?")
            try stmt.bind([id])
            try stmt.step()
            if db.changes == 0 { throw NotebookError.noSuchItem(path: path, what: "entry \(id)") }
        }
    }

    private static let entryColumns = "id, kind, created_ms, source, title, text, provenance"

    private func readEntry(_ stmt: Statement) throws -> NotebookEntry {
        let id = stmt.int64(0)
        guard let kind = stmt.string(1).flatMap(EntryKind.init(rawValue:)) else {
            throw NotebookError.corrupt(path: path, detail: "entry \(id) has an unknown kind")
        }
        return NotebookEntry(id: id, kind: kind, createdAt: Self.date(milliseconds: stmt.int64(2)),
                             source: stmt.string(3) ?? "", title: stmt.string(4) ?? "", text: stmt.string(5) ?? "",
                             provenance: try decodeProvenance(stmt.string(6), row: id, table: "entries"))
    }

    /// Every entry, in id (creation) order.
    public func entries() throws -> [NotebookEntry] {
        try locked {
            let stmt = try db.prepare("SELECT \(Self.entryColumns) FROM entries ORDER BY id")
            var out: [NotebookEntry] = []
            while try stmt.step() { out.append(try readEntry(stmt)) }
            return out
        }
    }

    public func entry(id: Int64) throws -> NotebookEntry? {
        try locked {
            let stmt = try db.prepare("SELECT \(Self.entryColumns) FROM entries WHERE id = ?")
            try stmt.bind([id])
            return try stmt.step() ? try readEntry(stmt) : nil
        }
    }

    // MARK: - Artifacts

    /// Inserts an artifact (id nil) or replaces the one with this id; returns its id.
    @discardableResult
    public func saveArtifact(id: Int64?, kind: String, source: String, title: String, payload: String,
                             provenance: Provenance?) throws -> Int64 {
        try batch {
            let now = Self.nowMilliseconds()
            let encoded = try encode(provenance)
            if let id {
                let stmt = try db.prepare("""
                    UPDATE artifacts SET kind = ?, source = ?, title = ?, payload = ?, provenance = ?, updated_ms = ?
                    WHERE id = ?
                    """)
                try stmt.bind([kind, source, title, payload, encoded, now, id])
                try stmt.step()
                if db.changes == 0 { throw NotebookError.noSuchItem(path: path, what: "artifact \(id)") }
                return id
            }
            let stmt = try db.prepare("""
                INSERT INTO artifacts (kind, source, title, payload, provenance, updated_ms) VALUES (?, ?, ?, ?, ?, ?)
                """)
            try stmt.bind([kind, source, title, payload, encoded, now])
            try stmt.step()
            return db.lastInsertRowID
        }
    }

    public func deleteArtifact(id: Int64) throws {
        try batch {
            let stmt = try db.prepare("DELETE FROM artifacts WHERE id = ?")
            try stmt.bind([id])
            try stmt.step()
            if db.changes == 0 { throw NotebookError.noSuchItem(path: path, what: "artifact \(id)") }
        }
    }

    /// Every artifact, in id order.
    public func artifacts() throws -> [Artifact] {
        try locked {
            let stmt = try db.prepare("SELECT id, kind, source, title, payload, provenance, updated_ms FROM artifacts ORDER BY id")
            var out: [Artifact] = []
            while try stmt.step() {
                let id = stmt.int64(0)
                out.append(Artifact(id: id, kind: stmt.string(1) ?? "", source: stmt.string(2) ?? "", title: stmt.string(3) ?? "",
                                    payload: stmt.string(4) ?? "",
                                    provenance: try decodeProvenance(stmt.string(5), row: id, table: "artifacts"),
                                    updatedAt: Self.date(milliseconds: stmt.int64(6))))
            }
            return out
        }
    }

    // MARK: - Report and metadata

    /// The final report; empty until one is set.
    public func report() throws -> Report {
        try locked {
            let stmt = try db.prepare("SELECT root_cause, behaviours FROM report WHERE id = 1")
            guard try stmt.step() else { return Report() }
            return Report(rootCause: stmt.string(0) ?? "", behaviours: stmt.string(1) ?? "")
        }
    }

    public func setReport(_ report: Report) throws {
        try batch {
            let stmt = try db.prepare("""
                INSERT INTO report (id, root_cause, behaviours, updated_ms) VALUES (1, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET root_cause = excluded.root_cause, behaviours = excluded.behaviours,
                    updated_ms = excluded.updated_ms
                """)
            try stmt.bind([report.rootCause, report.behaviours, Self.nowMilliseconds()])
            try stmt.step()
        }
    }

    /// Session-wide key/value settings (title, current model, ...); nil deletes the key.
    public func setMeta(_ key: String, _ value: String?) throws {
        try batch {
            if let value {
                let stmt = try db.prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                try stmt.bind([key, value])
                try stmt.step()
            } else {
                let stmt = try db.prepare("DELETE FROM meta WHERE key = ?")
                try stmt.bind([key])
                try stmt.step()
            }
        }
    }

    public func meta(_ key: String) throws -> String? {
        try locked {
            let stmt = try db.prepare("SELECT value FROM meta WHERE key = ?")
            try stmt.bind([key])
            return try stmt.step() ? stmt.string(0) : nil
        }
    }

    public func allMeta() throws -> [String: String] {
        try locked {
            let stmt = try db.prepare("SELECT key, value FROM meta ORDER BY key")
            var out: [String: String] = [:]
            while try stmt.step() { out[stmt.string(0) ?? ""] = stmt.string(1) ?? "" }
            return out
        }
    }

    // MARK: - Maintenance

    /// SQLite's full integrity check: ["ok"] for a sound file, else its list of problems.
    public func integrityCheck() throws -> [String] {
        try locked { try db.strings("PRAGMA integrity_check") }
    }

    /// Closes the file (checkpointing the WAL into it when this is the last connection). Later
    /// calls throw `NotebookError.closed`.
    public func close() {
        lock.lock()
        defer { lock.unlock() }
        db.close()
    }
}
