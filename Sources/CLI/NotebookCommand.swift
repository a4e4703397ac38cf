import ArgumentParser
import Foundation
import Workbench

/// `workbench notebook ...`: the session file from the command line, without the full-screen UI.
struct NotebookCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notebook",
        abstract: "Add to, list and export a session notebook (one SQLite file).",
        subcommands: [NotebookAdd.self, NotebookList.self, NotebookExport.self, NotebookReport.self]
    )
}

struct NotebookSessionOptions: ParsableArguments {
    @Option(help: "The session file.") var session: String
    @Option(name: .customLong("busy-timeout"), help: "Seconds to wait for another process's write before failing.")
    var busyTimeout: Double = 5

    func validate() throws {
        guard !session.isEmpty else { throw ValidationError("--session must name a file") }
        guard busyTimeout >= 0, busyTimeout.isFinite else { throw ValidationError("--busy-timeout must be >= 0") }
    }

    func open(create: Bool) throws -> Notebook {
        try Notebook(path: session, busyTimeout: busyTimeout, create: create)
    }
}

extension EntryKind: ExpressibleByArgument {}

struct NotebookAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add a note; prints its id once it is on disk.",
        discussion: """
        With --stdin, every non-empty input line becomes one note, and `ok ID` is printed (and
        flushed) after each is on disk, so a caller knows exactly which notes are safe. The session
        file is created if missing.
        """)
    @OptionGroup var sessionOptions: NotebookSessionOptions
    @Option(help: "note, hypothesis or evidence.") var kind: EntryKind = .note
    @Option(help: "A short title.") var title: String = ""
    @Flag(help: "Read one note per line from standard input.") var stdin = false
    @Argument(help: "The note's text.") var text: [String] = []

    func validate() throws {
        if stdin && !text.isEmpty { throw ValidationError("give the note as TEXT or with --stdin, not both") }
        if !stdin && readTextArgument(text).trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw ValidationError("the note is empty: give its text as TEXT (or lines on standard input with --stdin)")
        }
    }

    func run() throws {
        let notebook = try sessionOptions.open(create: true)
        defer { notebook.close() }
        guard stdin else {
            let entry = try notebook.add(kind, text: readTextArgument(text), title: title, source: "cli")
            FileHandle.standardOutput.write(Data("\(entry.id)\n".utf8))
            return
        }
        var skipped = 0
        while let line = readLine(strippingNewline: true) {
            guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { skipped += 1; continue }
            let entry = try notebook.add(kind, text: line, title: title, source: "cli")
            // FileHandle writes straight to the descriptor: the acknowledgement leaves now,
            // after the commit, never before it.
            FileHandle.standardOutput.write(Data("ok \(entry.id)\n".utf8))
        }
        if skipped > 0 {
            FileHandle.standardError.write(Data("skipped \(skipped) empty line\(skipped == 1 ? "" : "s")\n".utf8))
        }
    }
}

struct NotebookReport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write the report's Root cause and/or Behaviours (the Notebook pane's R and B), or print it.",
        discussion: "Fields not given keep their text. With neither, the report is printed (sanitised).")
    @OptionGroup var sessionOptions: NotebookSessionOptions
    @Option(name: .customLong("root-cause"), help: "The root cause.") var rootCause: String?
    @Option(help: "The behaviours, one per line.") var behaviours: String?

    func run() throws {
        let writing = rootCause != nil || behaviours != nil
        guard writing || FileManager.default.fileExists(atPath: sessionOptions.session) else {
            throw ValidationError("no session file at \(sessionOptions.session)")
        }
        let notebook = try sessionOptions.open(create: writing)
        defer { notebook.close() }
        var report = try notebook.report()
        guard writing else {
            printSafe("Root cause:\n\(report.rootCause)\n\nBehaviours:\n\(report.behaviours)\n")
            return
        }
        if let rootCause { report.rootCause = rootCause }
        if let behaviours { report.behaviours = behaviours }
        try notebook.setReport(report)
    }
}

struct NotebookList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "A short listing of a session: id, kind, and title or first line.")
    @OptionGroup var sessionOptions: NotebookSessionOptions

    func run() throws {
        let notebook = try sessionOptions.open(create: false)
        defer { notebook.close() }
        let entries = try notebook.entries()
        let artifacts = try notebook.artifacts()
        let report = try notebook.report()
        var lines: [String] = []
        for e in entries {
            lines.append("\(String(e.id).padding(toLength: 6, withPad: " ", startingAt: 0)) \(e.kind.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)) \(Self.summary(title: e.title, text: e.text))")
        }
        for a in artifacts {
            lines.append("a\(String(a.id).padding(toLength: 5, withPad: " ", startingAt: 0)) \(a.kind.padding(toLength: 10, withPad: " ", startingAt: 0)) \(Self.summary(title: a.title, text: ""))")
        }
        if entries.isEmpty && artifacts.isEmpty { lines.append("(empty session)") }
        lines.append("report: \(report.isEmpty ? "not written" : "written (root cause \(report.rootCause.count) characters, behaviours \(report.behaviours.count))")")
        printSafe(lines.joined(separator: "\n"), terminator: "\n")
    }

    /// The title, else the first non-empty line, cut to fit a terminal line. Sanitized by printSafe.
    static func summary(title: String, text: String, limit: Int = 60) -> String {
        let source = title.isEmpty
            ? text.split(whereSeparator: \.isNewline).first(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }).map(String.init) ?? ""
            : title
        let flat = source.replacingOccurrences(of: "\t", with: " ").split(whereSeparator: \.isNewline).joined(separator: " ")
        return flat.count > limit ? String(flat.prefix(limit - 1)) + "…" : flat
    }
}

struct NotebookExport: ParsableCommand {
    enum Format: String, ExpressibleByArgument, CaseIterable { case markdown, json }

    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a session to standard output as Markdown (sanitized) or JSON (verbatim).")
    @OptionGroup var sessionOptions: NotebookSessionOptions
    @Option(help: "markdown or json.") var format: Format = .markdown

    func run() throws {
        let notebook = try sessionOptions.open(create: false)
        defer { notebook.close() }
        switch format {
        case .json:
            FileHandle.standardOutput.write(try notebook.exportJSON())
        case .markdown:
            // exportMarkdown has already sanitized every piece of session text.
            var text = try notebook.exportMarkdown()
            if !text.hasSuffix("\n") { text += "\n" }
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }
}
