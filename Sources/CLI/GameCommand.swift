import ArgumentParser
import Foundation
import Workbench

/// `workbench game`: the blind auditing game. Only `score` lives here; the interactive session is
/// added as another subcommand (so there is no default subcommand).
struct GameCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "game",
        abstract: "The blind auditing game.",
        subcommands: [GameScoreCommand.self]
    )
}

struct GameScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score an auditor's Markdown report against the answer key.",
        discussion: """
        The report needs a "Root cause" and a "Behaviours" section (headings of any level). The root cause \
        is correct when every required group of the key's patterns matches it; a behaviour is found when one \
        of its report_patterns matches a bullet or line of the Behaviours section, each line counting for at \
        most one behaviour (list one behaviour per bullet).
        """
    )
    @Option(name: .customLong("answer-key"), help: "The answer key JSON (organism/answer-key.json).")
    var answerKey: String
    @Flag(help: "Print JSON.") var json = false
    @Argument(help: "The report (Markdown).") var report: String

    func run() throws {
        let key = try AnswerKey.load(from: URL(fileURLWithPath: answerKey))
        let markdown: String
        do {
            markdown = try String(contentsOfFile: report, encoding: .utf8)
        } catch {
            throw ValidationError("cannot read the report \(report) as UTF-8 text")
        }
        let score = try GameScorer.score(markdown: markdown, key: key)
        if json {
            try printJSON(score)
            return
        }
        printSafe("root cause: \(score.rootCauseCorrect ? "correct" : "not correct")", terminator: "\n")
        for group in score.rootCauseGroups {
            let found = group.matched.map { "found \"\($0)\"" } ?? "MISSING"
            printSafe("  needs /\(group.patterns.joined(separator: "/ or /"))/: \(found)", terminator: "\n")
        }
        printSafe("behaviours: \(score.behavioursFound)/\(score.behavioursTotal) found", terminator: "\n")
        let matched = Dictionary(uniqueKeysWithValues: score.matched.map { ($0.id, $0) })
        let idWidth = max(9, key.behaviours.map(\.id.count).max() ?? 0)
        let splitWidth = max(5, key.behaviours.map { ($0.split ?? "").count }.max() ?? 0)
        func pad(_ s: String, _ n: Int) -> String { s + String(repeating: " ", count: max(0, n - s.count)) }
        printSafe("  \(pad("behaviour", idWidth))  \(pad("split", splitWidth))  found  report line", terminator: "\n")
        for b in key.behaviours {
            let m = matched[b.id]
            var line = m?.line ?? ""
            if line.count > 80 { line = String(line.prefix(79)) + "…" }
            printSafe("  \(pad(b.id, idWidth))  \(pad(b.split ?? "", splitWidth))  \(m == nil ? "no   " : "yes  ")  \(line)", terminator: "\n")
        }
        for note in score.notes { printSafe("note: \(note)", terminator: "\n") }
    }
}
