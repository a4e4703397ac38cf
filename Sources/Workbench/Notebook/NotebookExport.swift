import Foundation
import Model

/// The exported forms of a session: JSON with every text verbatim, for tools, and Markdown with
/// every control character made visible, for people.
extension Notebook {
    /// The JSON export's top-level object.
    public struct Export: Codable, Sendable, Equatable {
        public var format: String
        public var version: Int
        public var meta: [String: String]
        public var entries: [NotebookEntry]
        public var artifacts: [Artifact]
        public var report: Report
    }

    public static let exportFormat = "workbench-notebook"
    public static let exportVersion = 1

    /// Everything in the session, read in one consistent snapshot.
    public func snapshot() throws -> Export {
        // A read transaction, so a writer in another process cannot slip in between the tables.
        try batchRead {
            Export(format: Self.exportFormat, version: Self.exportVersion, meta: try allMeta(),
                   entries: try entries(), artifacts: try artifacts(), report: try report())
        }
    }

    /// Dates as ISO 8601 with milliseconds (what the file stores), so the export round-trips.
    public static func exportDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        // One formatter per decoder: building one per date dominates a large export's cost.
        let formatter = isoFormatter()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = formatter.date(from: text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an ISO 8601 date: \(UntrustedText.excerpt(text))")
            }
            return date
        }
        return decoder
    }

    private static func isoFormatter() -> ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }

    /// `{"format":"workbench-notebook","version":1,"meta":{..},"entries":[..],"artifacts":[..],"report":{..}}`,
    /// sorted keys, pretty-printed; every text is its own JSON string, verbatim (JSON escapes
    /// control characters itself).
    public func exportJSON() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let formatter = Self.isoFormatter()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(formatter.string(from: date))
        }
        // C1 controls, DEL and bidi/line-separator code points as \u escapes: JSONEncoder escapes
        // only C0, and the export is often read in a terminal. Parsing gives back the exact text.
        var data = TerminalText.escapingInvisibleControls(inJSON: try encoder.encode(try snapshot()))
        data.append(0x0A)
        return data
    }

    /// A readable report: the title, the Report's root cause and behaviours, then hypotheses, notes
    /// and evidence (with provenance), then artifacts in fenced code blocks. All session text goes
    /// through `TerminalText.sanitize`, so the result holds no raw control character.
    public func exportMarkdown() throws -> String {
        NotebookMarkdown.render(try snapshot(), path: path)
    }
}

extension Notebook {
    /// Like `batch`, for reads: one snapshot across several queries.
    func batchRead<T>(_ body: () throws -> T) throws -> T {
        // A deferred transaction only takes a read snapshot (never the write lock), so an export
        // does not wait for, or block, another process's writes.
        try batch(immediate: false, body)
    }
}

enum NotebookMarkdown {
    static func render(_ export: Notebook.Export, path: String) -> String {
        var out: [String] = []
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        let title = export.meta["title"].map(inline) ?? "Audit notebook"
        out.append("# \(title.isEmpty ? "Audit notebook" : title)")
        out.append("")
        out.append("Session file: \(code(URL(fileURLWithPath: path).lastPathComponent))")
        for (key, value) in export.meta.sorted(by: { $0.key < $1.key }) where key != "title" {
            out.append("- \(inline(key)): \(inline(value))")
        }
        out.append("")

        out.append("## Root cause")
        out.append("")
        out.append(block(export.report.rootCause))
        out.append("")
        out.append("## Behaviours")
        out.append("")
        out.append(block(export.report.behaviours))
        out.append("")

        let sections: [(EntryKind, String)] = [(.hypothesis, "Hypotheses"), (.note, "Notes"), (.evidence, "Evidence")]
        for (kind, heading) in sections {
            let entries = export.entries.filter { $0.kind == kind }
            guard !entries.isEmpty else { continue }
            out.append("## \(heading)")
            out.append("")
            for entry in entries {
                var line = "### #\(entry.id)"
                if !entry.title.isEmpty { line += " \(inline(entry.title))" }
                out.append(line)
                out.append("")
                out.append("_\(timestamp(entry.createdAt, formatter)), from \(inline(entry.source))_")
                if let provenance = entry.provenance { out.append(""); out.append(provenanceLine(provenance)) }
                out.append("")
                // Evidence is quoted material (model output, search hits): fenced, so its own
                // Markdown cannot reshape the report. Notes and hypotheses are the auditor's prose.
                out.append(kind == .evidence ? fenced(entry.text) : block(entry.text))
                out.append("")
            }
        }

        if !export.artifacts.isEmpty {
            out.append("## Artifacts")
            out.append("")
            for artifact in export.artifacts {
                var line = "### Artifact #\(artifact.id): \(inline(artifact.kind))"
                if !artifact.title.isEmpty { line += " — \(inline(artifact.title))" }
                out.append(line)
                out.append("")
                out.append("_\(timestamp(artifact.updatedAt, formatter)), from \(inline(artifact.source))_")
                if let provenance = artifact.provenance { out.append(""); out.append(provenanceLine(provenance)) }
                out.append("")
                out.append(fenced(artifact.payload, language: "json"))
                out.append("")
            }
        }
        return out.joined(separator: "\n")
    }

    /// One line of untrusted text: sanitized, line breaks and tabs as spaces.
    static func inline(_ text: String) -> String {
        TerminalText.sanitize(text)
            .replacingOccurrences(of: "\r\n", with: " ")
            .replacingOccurrences(of: "\n", with: " ")
            .replacingOccurrences(of: "\t", with: " ")
    }

    static func block(_ text: String) -> String {
        text.isEmpty ? "_(not written yet)_" : TerminalText.sanitize(text)
    }

    /// A fence one backtick longer than the longest run inside, so the text cannot close it early.
    static func fenced(_ text: String, language: String = "text") -> String {
        let safe = TerminalText.sanitize(text)
        let fence = String(repeating: "`", count: max(3, longestBacktickRun(safe) + 1))
        let body = safe.hasSuffix("\n") ? String(safe.dropLast()) : safe
        return "\(fence)\(language)\n\(body)\n\(fence)"
    }

    /// An inline code span whose delimiter is longer than any backtick run inside.
    static func code(_ text: String) -> String {
        let safe = inline(text)
        let ticks = String(repeating: "`", count: longestBacktickRun(safe) + 1)
        let pad = safe.hasPrefix("`") || safe.hasSuffix("`") ? " " : ""
        return ticks + pad + safe + pad + ticks
    }

    static func longestBacktickRun(_ text: String) -> Int {
        var longest = 0, run = 0
        for c in text.unicodeScalars {
            if c == "`" { run += 1; longest = max(longest, run) } else { run = 0 }
        }
        return longest
    }

    static func provenanceLine(_ p: Provenance) -> String {
        var parts = ["model \(code(p.model))"]
        if let sha = p.modelSHA256 { parts.append("sha256 \(code(sha))") }
        if let adapter = p.adapter { parts.append("adapter \(code(adapter))") }
        if let seed = p.seed { parts.append("seed \(seed)") }
        for (key, value) in p.settings.sorted(by: { $0.key < $1.key }) {
            parts.append("\(inline(key)) = \(code(value))")
        }
        return "Provenance: " + parts.joined(separator: ", ")
    }

    static func timestamp(_ date: Date, _ formatter: ISO8601DateFormatter) -> String {
        formatter.string(from: date)
    }
}
