import CSQLite
import Foundation

/// A thin layer over the SQLite C API: one connection, prepared statements, and SQLite's result
/// codes turned into `NotebookError`s that name the file. Not thread-safe on its own; `Notebook`
/// serialises every call.
final class SQLiteDatabase {
    let path: String
    let busyTimeout: Double
    private var handle: OpaquePointer?

    /// Opens (and with `create`, creates) the file. SQLite reads nothing yet, so a file that is
    /// not a database is only detected by the first statement.
    init(path: String, create: Bool, busyTimeout: Double) throws {
        self.path = path
        self.busyTimeout = busyTimeout
        var flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX
        if create { flags |= SQLITE_OPEN_CREATE }
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        handle = db
        if rc != SQLITE_OK {
            let error = makeError(rc, context: "cannot open")
            sqlite3_close_v2(db)
            handle = nil
            throw error
        }
        sqlite3_extended_result_codes(db, 1)
        // Milliseconds; a lock held past this gives SQLITE_BUSY, which becomes NotebookError.busy.
        sqlite3_busy_timeout(db, Int32(max(0, min(busyTimeout * 1000, Double(Int32.max)))))
    }

    deinit { close() }

    var isOpen: Bool { handle != nil }

    func close() {
        guard let db = handle else { return }
        // close_v2 finalises lazily, so a statement leaked by an error path cannot keep the file open.
        sqlite3_close_v2(db)
        handle = nil
    }

    func connection() throws -> OpaquePointer {
        guard let db = handle else { throw NotebookError.closed(path: path) }
        return db
    }

    /// Runs SQL with no parameters and no rows wanted (several statements allowed).
    func execute(_ sql: String) throws {
        let db = try connection()
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(db, sql, nil, nil, &message)
        if rc != SQLITE_OK {
            let detail = message.map { String(cString: $0) }
            sqlite3_free(message)
            throw makeError(rc, context: detail)
        }
    }

    func prepare(_ sql: String) throws -> Statement {
        let db = try connection()
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nil)
        guard rc == SQLITE_OK, let stmt else {
            sqlite3_finalize(stmt)
            throw makeError(rc, context: nil)
        }
        return Statement(stmt, database: self)
    }

    /// First column of every row of a query, as text.
    func strings(_ sql: String) throws -> [String] {
        let stmt = try prepare(sql)
        var out: [String] = []
        while try stmt.step() { out.append(stmt.string(0) ?? "") }
        return out
    }

    func int64(_ sql: String) throws -> Int64 {
        let stmt = try prepare(sql)
        guard try stmt.step() else { return 0 }
        return stmt.int64(0)
    }

    var lastInsertRowID: Int64 { handle.map { sqlite3_last_insert_rowid($0) } ?? 0 }
    var changes: Int32 { handle.map { sqlite3_changes($0) } ?? 0 }

    /// Maps a SQLite result code to the error a user can act on.
    func makeError(_ rc: Int32, context: String?) -> NotebookError {
        let primary = rc & 0xFF
        var detail = String(cString: sqlite3_errstr(rc))
        if let handle, let message = sqlite3_errmsg(handle) {
            let text = String(cString: message)
            if !text.isEmpty && text != detail && text != "not an error" { detail = text }
        }
        if let context, !context.isEmpty, context != detail { detail = "\(context): \(detail)" }
        switch primary {
        case SQLITE_BUSY, SQLITE_LOCKED: return .busy(path: path, seconds: busyTimeout)
        case SQLITE_NOTADB: return .notASessionFile(path: path, reason: "not a SQLite database (\(detail))")
        case SQLITE_CORRUPT: return .corrupt(path: path, detail: detail)
        case SQLITE_CANTOPEN: return .io(path: path, detail: "cannot open the file (\(detail))")
        default: return .io(path: path, detail: detail)
        }
    }
}

/// One prepared statement. Text is bound and read with explicit byte lengths, so NUL and every
/// other character survive verbatim.
final class Statement {
    private let stmt: OpaquePointer
    private unowned let database: SQLiteDatabase

    init(_ stmt: OpaquePointer, database: SQLiteDatabase) {
        self.stmt = stmt
        self.database = database
    }

    deinit { sqlite3_finalize(stmt) }

    func bind(_ index: Int32, _ value: String?) throws {
        let rc: Int32
        if let value {
            let bytes = Array(value.utf8)
            // An empty array has no base address, and a NULL pointer would bind SQL NULL.
            rc = bytes.isEmpty
                ? sqlite3_bind_text(stmt, index, "", 0, csqlite_transient())
                : bytes.withUnsafeBufferPointer { buffer in
                    buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                        sqlite3_bind_text64(stmt, index, $0, sqlite3_uint64(buffer.count), csqlite_transient(), UInt8(SQLITE_UTF8))
                    }
                }
        } else {
            rc = sqlite3_bind_null(stmt, index)
        }
        if rc != SQLITE_OK { throw database.makeError(rc, context: "bind") }
    }

    func bind(_ index: Int32, _ value: Int64?) throws {
        let rc = value.map { sqlite3_bind_int64(stmt, index, $0) } ?? sqlite3_bind_null(stmt, index)
        if rc != SQLITE_OK { throw database.makeError(rc, context: "bind") }
    }

    func bind(_ values: [Any?]) throws {
        for (i, value) in values.enumerated() {
            let index = Int32(i + 1)
            switch value {
            case let s as String: try bind(index, s)
            case let n as Int64: try bind(index, n)
            case let n as Int: try bind(index, Int64(n))
            case nil: try bind(index, nil as Int64?)
            default: preconditionFailure("unsupported SQLite parameter type \(type(of: value))")
            }
        }
    }

    /// true: a row is ready; false: done.
    @discardableResult
    func step() throws -> Bool {
        let rc = sqlite3_step(stmt)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw database.makeError(rc, context: nil)
        }
    }

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(stmt, column) == SQLITE_NULL }

    func string(_ column: Int32) -> String? {
        guard !isNull(column) else { return nil }
        let count = Int(sqlite3_column_bytes(stmt, column))
        guard count > 0, let bytes = sqlite3_column_text(stmt, column) else { return "" }
        // Decoding repairs invalid UTF-8 (only a damaged file could hold it) instead of trapping.
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(stmt, column) }
}
