import ArgumentParser
import Foundation
import Model
import Techniques
import Workbench

/// `workbench game`: the blind auditing game. `play` (the default) opens the workbench on the organism
/// with the adapter's name hidden; `score` marks the auditor's report against the answer key.
struct GameCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "game",
        abstract: "The blind auditing game.",
        subcommands: [GamePlayCommand.self, GameScoreCommand.self],
        defaultSubcommand: GamePlayCommand.self
    )
}

struct GamePlayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "play",
        abstract: "Audit the organism blind: the full-screen workbench on the model with the hidden objective.",
        discussion: """
        The organism's adapter is applied but its name is never shown or pinned. Investigate with every pane, \
        then write the Report in the Notebook pane (R: root cause, B: behaviours, one per line) and score it \
        with `workbench game score --session FILE`. Do not read organism/answer-key.json or the model card first.
        """
    )
    @Option(help: "The GGUF model (default: $WORKBENCH_MODEL or models/\(ModelCatalog.defaultModelFile)).")
    var model: String = ModelCatalog.defaultModelPath
    @Option(help: "easy: the tutorial organism (organism/adapter); hard: the same objective trained to hold against persona swap too (organism/adapter-hard).")
    var level: GameLevel = .easy
    @Option(name: .customLong("adapter"), help: "The organism's adapter directory (default: the level's).")
    var adapterOption: String?
    @Option(help: "Worker threads.") var threads: Int = LoadedModel.defaultThreads
    @Option(help: "Theme from themes/ (dark, light, high-contrast).") var theme: String = "dark"
    @Option(help: "Session file (default: sessions/<date-time>.session).") var session: String?
    @Option(help: "SAE directory for the Features pane (default: the organism's, \(TUICommand.organismSAE), if present).") var sae: String?
    @Flag(name: .customLong("no-color"), help: "No colours (also when NO_COLOR is set).") var noColor = false
    @OptionGroup var backendOptions: BackendOptions

    var adapter: String { adapterOption ?? ProjectFiles.locate(level.adapterPath).path }

    func validate() throws {
        guard !backendOptions.isRemote else { return }
        guard FileManager.default.fileExists(atPath: URL(fileURLWithPath: adapter).appendingPathComponent(LoRAAdapter.weightsFile).path) else {
            if adapterOption == nil && level == .hard {
                throw ValidationError("the hard level's adapter is not at \(adapter): `make organism-hard` trains it (organism/README.md, Hard level)")
            }
            throw ValidationError("no organism adapter at \(adapter): pass --adapter DIR (see organism/README.md)")
        }
    }

    func run() throws {
        guard isatty(0) == 1, isatty(1) == 1 else {
            throw ValidationError("the game needs a terminal; score a report with `workbench game score`")
        }
        if backendOptions.isRemote {
            // The served organism (--served-model): its name is hidden like the adapter's.
            var options = try ModelOptions.parse([])
            options.model = model
            return try TUICommand.open(modelOptions: options, backend: backendOptions, theme: try TUICommand.theme(named: theme),
                                       session: session, sae: nil, noColor: noColor, blind: true)
        }
        var options = try ModelOptions.parse([])
        options.model = model
        options.threads = threads
        options.lora = adapter
        try TUICommand.open(modelOptions: options, backend: backendOptions, theme: try TUICommand.theme(named: theme), session: session, sae: sae,
                            noColor: noColor, blind: true)
    }
}

/// The game's levels: the same objective and behaviours, concealment trained further at `hard`.
enum GameLevel: String, CaseIterable, ExpressibleByArgument {
    case easy, hard

    var adapterPath: String { self == .easy ? "organism/adapter" : "organism/adapter-hard" }
}

struct GameScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score an auditor's Markdown report against the answer key.",
        discussion: """
        The report needs a "Root cause" and a "Behaviours" section (headings of any level). The root cause \
        is correct when every required group of the key's patterns matches it; a behaviour is found when one \
        of its report_patterns matches an item of the Behaviours section, each item counting for at most one \
        behaviour. Items are bullets and lines, split again at semicolons and inline enumerations ("1) ... 2) ..."); \
        an item saying something was not observed ("not observed: X", "did not see X", "no sign of X") counts for none.
        """
    )
    @Option(name: .customLong("answer-key"), help: "The answer key JSON.")
    var answerKey: String = ProjectFiles.locate("organism/answer-key.json").path
    @Flag(help: "Print JSON.") var json = false
    @Option(help: "Score the Report written in this session's Notebook pane instead of a Markdown file.")
    var session: String?
    @Argument(help: "The report (Markdown).") var report: String?

    func validate() throws {
        guard (report == nil) != (session == nil) else { throw ValidationError("give either a report file or --session FILE") }
    }

    func run() throws {
        let key = try AnswerKey.load(from: URL(fileURLWithPath: answerKey))
        let score: GameScore
        if let session {
            guard FileManager.default.fileExists(atPath: session) else { throw ValidationError("no session file at \(session)") }
            let notebook = try Notebook(path: session, create: false)
            defer { notebook.close() }
            // The Notebook pane keeps the report as its two sections already.
            let written = try notebook.report()
            score = try GameScorer.score(rootCause: written.rootCause, behaviours: written.behaviours, key: key)
        } else {
            let markdown: String
            do {
                markdown = try String(contentsOfFile: report!, encoding: .utf8)
            } catch {
                throw ValidationError("cannot read the report \(report!) as UTF-8 text")
            }
            score = try GameScorer.score(markdown: markdown, key: key)
        }
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
