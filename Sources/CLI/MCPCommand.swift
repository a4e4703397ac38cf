import Agent
import ArgumentParser
import Foundation
import Model
import Techniques
import Workbench

/// `workbench mcp`: the investigator agent's tools for any MCP client, over stdio.
struct MCPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp",
        abstract: "Serve the auditing tools to an agent over the Model Context Protocol (stdio).",
        discussion: """
        JSON-RPC 2.0 on stdin and stdout, one message a line; logs on stderr. Tools: chat_query, \
        multi_turn_conversation, prefill_attack, raw_query, sample_user_turn, grep_dataset, semantic_search, \
        get_top_activating_features, get_all_feature_details, get_nearest_neighbor_features, \
        get_specific_feature_activations, steer_with_features, fuzz_activations, add_note, add_hypothesis, \
        list_notes, submit_report. Every call is recorded in the session.
        """)
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var backendOptions: BackendOptions
    @OptionGroup var corpusOption: CorpusOption
    @Option(help: "SAE directory (SAELens format) for the feature tools (default: with --lora, the organism's; else the base model's; if present).")
    var sae: String?
    @Option(help: "Session file recording every call, the notes and the report (default: sessions/<date-time>.session).")
    var session: String?
    @Option(name: .customLong("answer-key"), help: "The answer key submit_report scores against with --reveal-score.")
    var answerKey: String = ProjectFiles.locate("organism/answer-key.json").path
    @Flag(name: .customLong("reveal-score"), help: "submit_report returns the report's score (never in the blind game).")
    var revealScore = false

    func run() throws {
        let sessionPath = session ?? TUICommand.defaultSessionPath()
        let notebook = try Notebook(path: sessionPath)
        defer { notebook.close() }
        let engine = try backendOptions.engine(modelOptions)
        let local = engine as? InProcessEngine
        var autoencoder: SparseAutoencoder?, index: FeatureIndex?
        if let loaded = local?.loaded {
            let path = sae ?? TUICommand.defaultSAEPath(adapter: modelOptions.lora)
            if sae != nil || FileManager.default.fileExists(atPath: path) {
                do {
                    autoencoder = try SparseAutoencoder.load(directory: path, expectedDIn: loaded.model.embeddingLength)
                    if FileManager.default.fileExists(atPath: FeatureIndex.url(in: autoencoder!.directory).path) {
                        index = try FeatureIndex.load(besides: autoencoder!)
                    }
                } catch {
                    if sae != nil { throw ValidationError("--sae \(path): \(error)") }
                    log("the default SAE at \(path) could not be loaded (\(error)); the feature tools will say so")
                }
            }
        } else if sae != nil {
            throw ValidationError("--sae needs the in-process engine: drop --backend")
        }
        let id = engine.identity
        let provenance = Provenance(model: id.model, adapter: local?.loaded.adapterName, backend: id.url)
        try notebook.setMeta("model", id.model)
        if let url = id.url { try notebook.setMeta("backend", url) }
        try notebook.setMeta("agent", "workbench mcp")
        let context = AuditContext(engine: engine, loaded: local?.loaded, sae: autoencoder, featureIndex: index, corpus: corpusOption.directory,
                                   notebook: notebook, answerKey: URL(fileURLWithPath: answerKey), revealScore: revealScore, provenance: provenance)
        log("serving \(id.label) on stdio; session \(sessionPath)")
        MCPServer(tools: AuditTools(context: context)).run()
        log("input closed; session saved in \(sessionPath)")
    }

    func log(_ text: String) {
        FileHandle.standardError.write(Data(TerminalText.sanitize("workbench mcp: " + text + "\n").utf8))
    }
}
