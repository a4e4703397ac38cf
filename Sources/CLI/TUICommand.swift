import ArgumentParser
import Foundation
import Model
import Techniques
import TUI
import Workbench

/// `workbench` with no subcommand: the full-screen workbench.
struct TUICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tui",
        abstract: "Open the full-screen workbench (the default command).")
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var backendOptions: BackendOptions
    @Option(help: "Theme from themes/ (dark, light, high-contrast).")
    var theme: String = "dark"
    @Option(help: "Session file (SQLite) holding transcripts and the notebook (default: sessions/<date-time>.session).")
    var session: String?
    @Flag(name: .customLong("no-color"), help: "No colours (also when NO_COLOR is set).")
    var noColor = false
    @Option(help: "SAE directory (SAELens format) for the Features pane (default: with --lora, \(Self.organismSAE); else \(Self.defaultSAE); if present).")
    var sae: String?

    /// Where `make sae` puts the default SAE.
    static let defaultSAE = "models/sae/smollm2-135m-l15-resid-post-4608"

    func run() throws {
        guard isatty(0) == 1, isatty(1) == 1 else {
            throw ValidationError("the workbench needs a terminal; for scripts use the subcommands (workbench --help)")
        }
        let themeValue = try Self.theme(named: theme)
        try Self.open(modelOptions: modelOptions, backend: backendOptions, theme: themeValue, session: session, sae: sae, noColor: noColor, blind: false)
    }

    /// Opens the workbench. `blind` is the game: the adapter is loaded but its name is shown and recorded
    /// as hidden, and the session is marked as a blind audit.
    static func open(modelOptions: ModelOptions, backend: BackendOptions, theme themeValue: Theme, session: String?, sae: String?,
                     noColor: Bool, blind: Bool) throws {
        let sessionPath = session ?? Self.defaultSessionPath()
        let notebook = try Notebook(path: sessionPath)
        let app: App
        if let remote = try backend.remoteEngine() {
            guard modelOptions.lora == nil else {
                throw ValidationError("--lora applies in-process; on a server the adapter is served by it (vLLM --lora-modules NAME=PATH): pass --served-model NAME")
            }
            let id = remote.identity
            let runner = EngineRunner(engine: remote)
            var state = AppState(width: 80, height: 24, modelName: blind ? "hidden (blind game)" : id.model, adapterName: nil,
                                 sessionPath: sessionPath, contextLimit: runner.contextLimit, theme: themeValue)
            state.backend = id.label.components(separatedBy: " ").first
            let provenance = Provenance(model: blind ? "hidden (blind game)" : id.model, backend: id.url)
            app = App(state: state, runner: runner, notebook: notebook, provenance: provenance)
            app.setFeatureTools(nil, engineNote: "The Features pane reads activations inside the model, so it needs the in-process engine; "
                                + "this session runs on \(id.url ?? "a server"), which gives only text. Open the workbench without --backend "
                                + "(and with --model FILE.gguf) to read, search and steer features.")
            try notebook.setMeta("model", provenance.model)
            try notebook.setMeta("backend", id.url ?? "")
        } else {
            FileHandle.standardError.write(Data("loading \(modelOptions.model)…\n".utf8))
            let loaded = try modelOptions.load()
            let runner = EngineRunner(loaded: loaded, contextLength: modelOptions.context)
            let adapter = blind ? (loaded.adapterName == nil ? nil : "hidden (blind game)") : loaded.adapterName
            let state = AppState(width: 80, height: 24, modelName: loaded.name, adapterName: adapter, sessionPath: sessionPath,
                                 contextLimit: runner.contextLimit, theme: themeValue)
            let provenance = Provenance(model: URL(fileURLWithPath: loaded.path).lastPathComponent, adapter: adapter)
            app = App(state: state, runner: runner, notebook: notebook, provenance: provenance)
            // The Features pane's SAE: an explicit --sae must load; the default one is optional.
            let saePath = sae ?? Self.defaultSAEPath(adapter: modelOptions.lora)
            if sae != nil || FileManager.default.fileExists(atPath: saePath) {
                do {
                    let loadedSAE = try SparseAutoencoder.load(directory: saePath, expectedDIn: loaded.model.embeddingLength)
                    app.setFeatureTools(try FeatureTools(loaded: loaded, sae: loadedSAE))
                } catch {
                    if sae != nil { throw ValidationError("--sae \(saePath): \(error)") }
                    app.setFeatureTools(nil, problem: "The default SAE at \(saePath) could not be loaded: \(error)")
                }
            }
            try notebook.setMeta("model", provenance.model)
            DispatchQueue.global(qos: .utility).async { [path = loaded.path] in
                if let hash = try? SHA256.hex(file: path) { app.post(modelHash: hash) }
            }
        }
        if blind { try notebook.setMeta("game", "blind audit: write the Report (R root cause, B behaviours) in the Notebook pane") }
        let noColorEnv = !(ProcessInfo.processInfo.environment["NO_COLOR"] ?? "").isEmpty
        TerminalApp.run(app, noColor: noColor || noColorEnv)
        notebook.close()
        if blind {
            FileHandle.standardError.write(Data("session saved in \(sessionPath)\nscore the report: workbench game score --session \(sessionPath)\n".utf8))
        }
    }

    /// With an adapter, the organism's SAE (trained on base + organism/adapter) when it is there;
    /// otherwise the base model's (`make sae`).
    static func defaultSAEPath(adapter: String?) -> String {
        let organism = ProjectFiles.locate(organismSAE).path
        if adapter != nil, FileManager.default.fileExists(atPath: organism) { return organism }
        return ProjectFiles.locate(defaultSAE).path
    }

    static let organismSAE = "organism/sae/smollm2-135m-organism-l15-3072"

    static func theme(named name: String) throws -> Theme {
        do {
            return try Theme.load(named: name)
        } catch {
            if name != "dark" { throw ValidationError("\(error)") }
            return Theme.plain  // no themes/ folder: the terminal's own colours
        }
    }

    static func defaultSessionPath() -> String {
        let dir = ProjectFiles.locate("sessions")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "yyyy-MM-dd-HHmmss"
        return dir.appendingPathComponent("\(f.string(from: Date())).session").path
    }
}
