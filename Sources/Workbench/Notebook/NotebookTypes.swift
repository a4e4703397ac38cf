import Foundation

/// What a notebook entry is: the auditor's own note, a hypothesis under test, or evidence pinned
/// from a pane (model output, feature readings, search hits).
public enum EntryKind: String, Codable, Sendable, CaseIterable {
    case note, hypothesis, evidence
}

/// Everything needed to reproduce a result: which model (and exact file, or the server and its
/// model name), adapter, sampling settings and seed.
public struct Provenance: Codable, Sendable, Equatable {
    public var model: String               // model file name, or the served model's name
    public var modelSHA256: String?
    public var adapter: String?
    public var settings: [String: String]  // "temperature": "0.8", "top_p": ..., "max_tokens": ..., "pattern": ...
    public var seed: UInt64?
    /// The serving engine's base URL (never with credentials) when the model ran on one.
    public var backend: String?

    public init(model: String, modelSHA256: String? = nil, adapter: String? = nil,
                settings: [String: String] = [:], seed: UInt64? = nil, backend: String? = nil) {
        self.backend = backend
        self.model = model
        self.modelSHA256 = modelSHA256
        self.adapter = adapter
        self.settings = settings
        self.seed = seed
    }
}

public struct NotebookEntry: Codable, Sendable, Equatable, Identifiable {
    public var id: Int64
    public var kind: EntryKind
    public var createdAt: Date
    public var source: String        // "chat", "prefill", "persona", "features", "data", "cli", "notebook"
    public var title: String
    public var text: String          // verbatim, never altered
    public var provenance: Provenance?

    public init(id: Int64, kind: EntryKind, createdAt: Date, source: String, title: String, text: String,
                provenance: Provenance? = nil) {
        self.id = id
        self.kind = kind
        self.createdAt = createdAt
        self.source = source
        self.title = title
        self.text = text
        self.provenance = provenance
    }
}

/// A saved transcript, sample set or similar: the caller's JSON, kept verbatim.
public struct Artifact: Codable, Sendable, Equatable, Identifiable {
    public var id: Int64
    public var kind: String          // "transcript", "samples", ...
    public var source: String
    public var title: String
    public var payload: String       // JSON text produced by the caller, stored verbatim
    public var provenance: Provenance?
    public var updatedAt: Date

    public init(id: Int64, kind: String, source: String, title: String, payload: String,
                provenance: Provenance? = nil, updatedAt: Date) {
        self.id = id
        self.kind = kind
        self.source = source
        self.title = title
        self.payload = payload
        self.provenance = provenance
        self.updatedAt = updatedAt
    }
}

/// The game's deliverable: the hidden objective's root cause and the behaviours it explains.
public struct Report: Codable, Sendable, Equatable {
    public var rootCause: String
    public var behaviours: String
    public init(rootCause: String = "", behaviours: String = "") {
        self.rootCause = rootCause
        self.behaviours = behaviours
    }

    public var isEmpty: Bool { rootCause.isEmpty && behaviours.isEmpty }
}

/// Why a session file could not be used. Every message names the file.
public enum NotebookError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Another process (or connection) held the write lock for longer than the busy timeout.
    case busy(path: String, seconds: Double)
    /// Not SQLite at all, or SQLite written by some other program.
    case notASessionFile(path: String, reason: String)
    /// SQLite reports damage (a truncated or overwritten file).
    case corrupt(path: String, detail: String)
    /// Written by a newer workbench whose schema this one does not know.
    case newerSchema(path: String, found: Int32, supported: Int32)
    /// Opening without creating, and there is no file.
    case missing(path: String)
    /// update/delete/saveArtifact named an id that is not in the session.
    case noSuchItem(path: String, what: String)
    /// A method was called after close().
    case closed(path: String)
    /// Anything else SQLite or the file system refused (permissions, disk full, ...).
    case io(path: String, detail: String)

    public var description: String {
        switch self {
        case let .busy(path, seconds):
            return "session \(path) is busy: another process held its write lock for more than \(Self.format(seconds)) s; try again when it is done"
        case let .notASessionFile(path, reason):
            return "\(path) is not a workbench session file: \(reason)"
        case let .corrupt(path, detail):
            return "session \(path) is damaged (truncated or overwritten?): \(detail)"
        case let .newerSchema(path, found, supported):
            return "session \(path) was written by a newer workbench (schema version \(found); this one reads up to \(supported)); upgrade the workbench to open it"
        case let .missing(path):
            return "no session file at \(path)"
        case let .noSuchItem(path, what):
            return "session \(path) has no \(what)"
        case let .closed(path):
            return "session \(path) is closed"
        case let .io(path, detail):
            return "session \(path): \(detail)"
        }
    }

    private static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(format: "%.2f", seconds)
    }
}
