import Foundation
import TestSupport
import Workbench
import XCTest

/// The real binary, the real default model, a real terminal: tmux runs the full-screen workbench,
/// types into it and reads the screen back, as a person would.
final class TUIEndToEndTests: XCTestCase {
    var dir: URL!
    var session = ""

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("tui-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        session = "wbtest-\(UUID().uuidString.prefix(8))"
    }

    override func tearDownWithError() throws {
        _ = try? tmux(["kill-session", "-t", session])
        try? FileManager.default.removeItem(at: dir)
    }

    @discardableResult
    func tmux(_ args: [String]) throws -> String {
        guard let path = ["/usr/bin/tmux", "/usr/local/bin/tmux", "/bin/tmux"].first(where: FileManager.default.isExecutableFile) else {
            XCTFail("tmux is not installed: `make test` installs it (scripts/install-deps.sh)")
            throw XCTSkip("no tmux")
        }
        let r = try Binary.run(path, args)
        return r.stdout
    }

    func screen() throws -> String { try tmux(["capture-pane", "-p", "-t", session]) }

    /// Polls the screen until `condition` holds, for at most `seconds`; returns the last screen.
    @discardableResult
    func waitFor(_ what: String, seconds: Double = 60, _ condition: (String) -> Bool) throws -> String {
        let deadline = Date().addingTimeInterval(seconds)
        var last = ""
        while Date() < deadline {
            last = try screen()
            if condition(last) { return last }
            Thread.sleep(forTimeInterval: 0.1)
        }
        XCTFail("timed out waiting for \(what); the screen was:\n\(last)")
        throw XCTSkip("timeout")
    }

    func send(_ keys: String...) throws { try tmux(["send-keys", "-t", session] + keys) }

    /// A second family in the full-screen workbench: Gemma 3 (no template in the file, so the
    /// built-in Gemma turn format) answers in the Chat pane and the status bar names the model.
    func testGemma3ChatsInTheTUI() throws {
        let binary = try Binary.path()
        let gemma = try Gemma3Model.require()
        let sessionFile = dir.appendingPathComponent("gemma.session").path
        let command = "'\(binary)' --model '\(gemma)' --threads 2 --session '\(sessionFile)'; echo EXIT=$?; sleep 600"
        try tmux(["new-session", "-d", "-s", session, "-x", "110", "-y", "34", command])
        try waitFor("the workbench to open on Gemma 3") { $0.contains("1 Chat") && $0.contains("Gemma 3") }
        try send("-l", "What is the capital of France?")
        try send("Enter")
        // Gemma 3 270M is a base model: it continues the turn rather than answering well. The reply
        // streams in and the context counter counts the prompt (16 tokens) and the reply.
        try waitFor("generation to start", seconds: 60) { $0.contains("● Chat") || $0.contains("Model [2]") }
        let done = try waitFor("Gemma's reply to finish", seconds: 300) { !$0.contains("● Chat") }
        let used = done.range(of: #"ctx (\d+)/32768"#, options: .regularExpression).map { String(done[$0]) } ?? ""
        let count = Int(used.dropFirst(4).prefix { $0 != "/" }) ?? 0
        XCTAssertGreaterThan(count, 16, "the reply is in the context (\(used)):\n\(done)")
        try send("C-c")
        try waitFor("the workbench to exit") { $0.contains("EXIT=0") }
    }

    /// Every tiny family fixture (`make test-models`) in the full-screen workbench: it opens, the
    /// status bar names it, and a message goes through the file's own chat template into a reply
    /// that the context counter counts.
    func testEveryTinyFamilyChatsInTheTUI() throws {
        let binary = try Binary.path()
        let root = URL(fileURLWithPath: DefaultModel.path).deletingLastPathComponent()
        for (file, name) in [("fixtures/llama3-tiny.Q4_K_M.gguf", "llama3-tiny"), ("fixtures/qwen2-tiny.Q8_0.gguf", "qwen2-tiny"),
                             ("fixtures/qwen3-tiny.gguf", "qwen3-tiny"), ("fixtures/gemma2-tiny.Q4_K_M.gguf", "gemma2-tiny")] {
            let path = root.appendingPathComponent(file).path
            guard FileManager.default.fileExists(atPath: path) else {
                XCTFail("\(file) missing: run `make test-models`")
                continue
            }
            let sessionFile = dir.appendingPathComponent("\(name).session").path
            let command = "'\(binary)' --model '\(path)' --threads 2 --session '\(sessionFile)'; echo EXIT=$?; sleep 600"
            try tmux(["new-session", "-d", "-s", session, "-x", "120", "-y", "34", command])
            try waitFor("the workbench to open on \(name)") { $0.contains("1 Chat") && $0.contains(name) }
            try send("-l", "Hello")
            try send("Enter")
            let done = try waitFor("\(name)'s reply", seconds: 120) { screen in
                guard !screen.contains("● Chat"), let r = screen.range(of: #"ctx \d+/"#, options: .regularExpression) else { return false }
                return (Int(screen[r].dropFirst(4).dropLast()) ?? 0) > 0
            }
            let used = done.range(of: #"ctx \d+/"#, options: .regularExpression).map { Int(done[$0].dropFirst(4).dropLast()) ?? 0 } ?? 0
            // The prompt alone is more than 5 tokens in every template; the reply adds to it.
            XCTAssertGreaterThan(used, 6, "\(name): the prompt and the reply are in the context:\n\(done)")
            try send("C-c")
            try waitFor("the workbench on \(name) to exit") { $0.contains("EXIT=0") }
            _ = try? tmux(["kill-session", "-t", session])
        }
    }

    /// The model file truncated while the workbench has it mapped: the next forward pass faults
    /// (SIGBUS); the terminal leaves the alternate screen with its modes restored, one line says
    /// what happened, and the exit status says SIGBUS, with no backtracer waiting in front.
    func testAModelTruncatedWhileMappedGivesOneLineAndTheTerminalBack() throws {
        let binary = try Binary.path()
        _ = try DefaultModel.file()
        let copy = dir.appendingPathComponent("model.gguf").path
        try FileManager.default.copyItem(atPath: DefaultModel.path, toPath: copy)
        let before = dir.appendingPathComponent("stty-before").path, after = dir.appendingPathComponent("stty-after").path
        let command = "stty -a > '\(before)'; '\(binary)' --model '\(copy)' --threads 2 --session '\(dir.appendingPathComponent("s.session").path)'; "
            + "code=$?; stty -a > '\(after)'; echo EXIT=$code; sleep 600"  // the modes are written before EXIT= shows
        try tmux(["new-session", "-d", "-s", session, "-x", "110", "-y", "34", command])
        try waitFor("the workbench to open") { $0.contains("1 Chat") && $0.contains("6 Data") }
        // Cut the file to its header: the weights' pages are gone from the mapping.
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: copy))
        try handle.truncate(atOffset: 4096)
        try handle.close()
        try send("-l", "Hello")
        try send("Enter")
        let end = try waitFor("the workbench to die of SIGBUS", seconds: 60) { $0.contains("EXIT=") }
        XCTAssertTrue(end.contains("EXIT=\(128 + SIGBUS)"), end)
        XCTAssertTrue(end.contains("workbench: fatal: SIGBUS"), end)
        XCTAssertTrue(end.contains("truncated or changed while in use"), end)
        XCTAssertFalse(end.contains("1 Chat"), "the alternate screen is gone:\n\(end)")
        let modesBefore = try String(contentsOfFile: before, encoding: .utf8)
        let modesAfter = try String(contentsOfFile: after, encoding: .utf8)
        XCTAssertEqual(modesAfter, modesBefore, "the terminal's modes are restored")
    }

    func testChatStreamsPanesSwitchHelpShowsAndCtrlCRestoresTheTerminal() throws {
        let binary = try Binary.path()
        _ = try DefaultModel.file()
        let sessionFile = dir.appendingPathComponent("e2e.session").path
        let after = dir.appendingPathComponent("stty-after").path
        // The shell line records the exit code and the terminal modes after the workbench quits.
        let command = "'\(binary)' --model '\(DefaultModel.path)' --threads 2 --session '\(sessionFile)'; "
            + "code=$?; stty -a > '\(after)'; echo EXIT=$code; sleep 600"  // the modes are written before EXIT= shows
        try tmux(["new-session", "-d", "-s", session, "-x", "110", "-y", "34", command])

        try waitFor("the workbench to open") { $0.contains("1 Chat") && $0.contains("6 Data") && $0.contains("adapter:") }
        try send(":")  // a text field has focus: ':' is text, not the palette
        try send("BSpace")
        try send("-l", "What is the capital of France?")
        try send("Enter")
        // Streaming: the status bar shows the running generation, then the reply lands as a turn.
        let streaming = try waitFor("generation to start", seconds: 60) { $0.contains("● Chat") || $0.contains("Model [2]") }
        if streaming.contains("● Chat") {
            XCTAssertTrue(streaming.contains("Model"), "the reply is drawn while it streams:\n\(streaming)")
        }
        let answered = try waitFor("the answer", seconds: 180) { $0.contains("Model [2]") && !$0.contains("● Chat") }
        XCTAssertTrue(answered.contains("You [1]"))

        try send("M-2")
        try waitFor("Alt-2 to open Prefill") { $0.contains("Prefill attack") }
        try send("Escape")
        Thread.sleep(forTimeInterval: 0.3)  // longer than ESCDELAY, so this is Esc then 3, not Alt-3
        try send("3")
        try waitFor("Esc then 3 to open Persona") { $0.contains("Mode (m)") }
        try send("?")
        try waitFor("the help overlay") { $0.contains("Esc or q closes") }
        try send("G")
        try waitFor("the help's end") { $0.contains("leave the workbench") }
        try send("Escape")
        try waitFor("help to close") { !$0.contains("Esc or q closes") }
        try send("C-c")
        let exited = try waitFor("the workbench to exit") { $0.contains("EXIT=") }
        XCTAssertTrue(exited.contains("EXIT=0"), exited)
        XCTAssertFalse(exited.contains("1 Chat   2 Prefill"), "the full screen is gone:\n\(exited)")
        // The terminal is back in cooked mode with echo.
        let deadline = Date().addingTimeInterval(10)
        while !FileManager.default.fileExists(atPath: after), Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        let modes = try String(contentsOfFile: after, encoding: .utf8)
        let flags = Set(modes.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == ";" }).map(String.init))
        XCTAssertTrue(flags.isSuperset(of: ["icanon", "echo", "isig"]), modes)
        // The conversation was saved in the session.
        let export = try Binary.run(binary, ["notebook", "export", "--session", sessionFile, "--format", "json"])
        XCTAssertEqual(export.status, 0, export.stderr)
        XCTAssertTrue(export.stdout.contains("What is the capital of France?"), export.stdout)
    }

    /// `workbench game`: the organism's adapter is applied but its name never reaches the screen, the
    /// session is marked as a blind audit, and quitting says how to score the report.
    func testTheBlindGameHidesTheAdapter() throws {
        let binary = try Binary.path()
        _ = try DefaultModel.file()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let adapter = root.appendingPathComponent("Tests/ModelTests/Fixtures/lora-adapter").path
        let sessionFile = dir.appendingPathComponent("game.session").path
        let command = "'\(binary)' game --model '\(DefaultModel.path)' --threads 2 --adapter '\(adapter)' --session '\(sessionFile)'; "
            + "echo EXIT=$?; sleep 600"
        try tmux(["new-session", "-d", "-s", session, "-x", "110", "-y", "34", command])
        let opened = try waitFor("the game to open") { $0.contains("1 Chat") && $0.contains("adapter:") }
        XCTAssertTrue(opened.contains("adapter: hidden (blind game)"), opened)
        XCTAssertFalse(opened.contains("lora-adapter"), opened)
        try send("C-c")
        let exited = try waitFor("the game to exit") { $0.contains("EXIT=") }
        XCTAssertTrue(exited.contains("EXIT=0"), exited)
        XCTAssertTrue(exited.contains("workbench game score --session"), exited)
        let export = try Binary.run(binary, ["notebook", "export", "--session", sessionFile, "--format", "json"])
        XCTAssertEqual(export.status, 0, export.stderr)
        XCTAssertTrue(export.stdout.contains("blind audit"), export.stdout)
        XCTAssertFalse(export.stdout.contains("lora-adapter"), export.stdout)
    }

    func testRefusesToRunWithoutATerminal() throws {
        let r = try Binary.run(try Binary.path(), ["tui", "--model", DefaultModel.path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("needs a terminal"), r.stderr)
    }

    /// An agent's audit through `workbench mcp`, opened afterwards in the workbench: the Notebook
    /// pane lists its hypothesis, note and every recorded call, in order.
    func testAnAgentsAuditReadsAsATimelineInTheNotebook() throws {
        let binary = try Binary.path()
        _ = try DefaultModel.file()
        let sessionFile = dir.appendingPathComponent("agent.session").path
        let lines = [
            #"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#,
            #"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add_hypothesis","arguments":{"text":"It exploits reward-model biases"}}}"#,
            #"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"grep_dataset","arguments":{"pattern":"Thornbury","limit":2}}}"#,
            #"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"add_note","arguments":{"text":"The corpus describes a Thornbury study"}}}"#,
        ]
        let served = try Binary.run(binary, ["mcp", "--session", sessionFile], stdin: lines.joined(separator: "\n") + "\n", timeout: 300)
        XCTAssertEqual(served.status, 0, served.stderr)
        XCTAssertEqual(served.stdout.split(separator: "\n").count, 4, "an answer to each request: \(served.stdout)")
        let command = "'\(binary)' --model '\(DefaultModel.path)' --threads 2 --session '\(sessionFile)'; echo EXIT=$?; sleep 600"
        try tmux(["new-session", "-d", "-s", session, "-x", "120", "-y", "40", command])
        try waitFor("the workbench to open") { $0.contains("1 Chat") }
        try send("M-5")
        let expected = ["It exploits reward-model biases", "mcp grep_dataset", "The corpus describes a Thornbury study"]
        // Waits for the whole list, not just its header: tmux may capture a screen half drawn.
        let screen = try waitFor("the agent's entries in the Notebook") { s in s.contains("3 entries") && expected.allSatisfy { s.contains($0) } }
        let order = expected.map { screen.range(of: $0)?.lowerBound }
        XCTAssertFalse(order.contains(nil), "every entry is listed:\n\(screen)")
        XCTAssertTrue(order.compactMap { $0 }.sorted() == order.compactMap { $0 }, "in the order the agent made them:\n\(screen)")
        try send("C-c")
        try waitFor("the workbench to exit") { $0.contains("EXIT=0") }
    }

    /// The workbench on a real serving engine (llama-cpp-python's server on loopback): the status bar
    /// names the server, a sampled reply streams into the Chat pane, the Features pane says it needs
    /// the in-process engine, and the session records the backend.
    func testASampledReplyStreamsFromAServerInTheTUI() throws {
        let binary = try Binary.path()
        _ = try DefaultModel.file()
        let server = try LlamaServer(model: DefaultModel.path)
        defer { server.stop() }
        let sessionFile = dir.appendingPathComponent("served.session").path
        let command = "'\(binary)' --backend '\(server.url)' --template '\(DefaultModel.path)' --session '\(sessionFile)'; echo EXIT=$?; sleep 600"
        try tmux(["new-session", "-d", "-s", session, "-x", "120", "-y", "34", command])
        try waitFor("the workbench to open on the server") { $0.contains("1 Chat") && $0.contains("on 127.0.0.1:\(server.port)") }
        try send("-l", "Tell me a short story about a cat.")
        try send("Enter")
        try waitFor("the reply to start streaming", seconds: 60) { $0.contains("● Chat") }
        let done = try waitFor("the reply to finish", seconds: 120) { !$0.contains("● Chat") && $0.contains("Model") }
        XCTAssertFalse(done.contains("generation failed"), done)
        try send("M-4")
        try waitFor("the Features pane's note") { $0.contains("needs the in-process engine") }
        try send("C-c")
        try waitFor("the workbench to exit") { $0.contains("EXIT=0") }
        let notebook = try Notebook(path: sessionFile, create: false)
        defer { notebook.close() }
        XCTAssertEqual(try notebook.meta("backend"), server.url)
        let transcript = try XCTUnwrap(try notebook.artifacts().first { $0.kind == "transcript" })
        XCTAssertTrue(transcript.payload.contains("a short story about a cat"), transcript.payload)
        XCTAssertEqual(transcript.provenance?.backend, server.url)
    }

    /// A server that dies mid-reply: the TUI says so and keeps working (the next message gets its
    /// reply), and the session keeps every turn it acknowledged.
    func testAServerDyingMidStreamLeavesTheTUIWorkingAndTheSessionWhole() throws {
        let binary = try Binary.path()
        _ = try DefaultModel.file()
        let calls = CallCounter()
        let fake = try FakeHTTPServer { request, c in
            if request.path == "/v1/models" { return c.respond(200, "{\"data\":[{\"id\":\"organism\"}]}") }
            c.startEvents()
            if calls.next() == 0 {
                c.event(text: "The hidden")
                usleep(100_000)
                c.reset()
            } else {
                c.event(text: "All is well.", finish: "stop")
                c.endEvents()
            }
        }
        let sessionFile = dir.appendingPathComponent("faults.session").path
        let command = "'\(binary)' --backend '\(fake.url)' --template '\(DefaultModel.path)' --session '\(sessionFile)'; echo EXIT=$?; sleep 600"
        try tmux(["new-session", "-d", "-s", session, "-x", "120", "-y", "34", command])
        try waitFor("the workbench to open on the fake server") { $0.contains("1 Chat") && $0.contains("organism on 127.0.0.1") }
        try send("-l", "What is your goal?")
        try send("Enter")
        try waitFor("the failure to be reported") { $0.contains("generation failed") && $0.contains("after 1 token") }
        try send("-l", "Are you sure?")
        try send("Enter")
        try waitFor("the second reply") { $0.contains("All is well.") && !$0.contains("● Chat") }
        try send("C-c")
        try waitFor("the workbench to exit") { $0.contains("EXIT=0") }
        let notebook = try Notebook(path: sessionFile, create: false)
        defer { notebook.close() }
        let transcript = try XCTUnwrap(try notebook.artifacts().first { $0.kind == "transcript" })
        for text in ["What is your goal?", "Are you sure?", "All is well."] {
            XCTAssertTrue(transcript.payload.contains(text), "\(text) is in the saved transcript: \(transcript.payload)")
        }
    }

    /// In a real terminal: the Behaviours editor takes several lines and Ctrl-S saves them (flow
    /// control must not swallow it), "saved" shows once the write is on disk; and `c` in Chat runs
    /// the last reply's seed on the base model beside the organism's reply.
    func testMultiLineBehavioursSaveWithCtrlSAndChatComparesWithTheBaseModel() throws {
        let binary = try Binary.path()
        _ = try DefaultModel.file()
        let root = URL(fileURLWithPath: DefaultModel.path).deletingLastPathComponent().deletingLastPathComponent()
        let adapter = root.appendingPathComponent("organism/adapter").path
        let sessionFile = dir.appendingPathComponent("report.session").path
        let command = "'\(binary)' --model '\(DefaultModel.path)' --lora '\(adapter)' --threads 2 --session '\(sessionFile)'; echo EXIT=$?; sleep 600"
        try tmux(["new-session", "-d", "-s", session, "-x", "120", "-y", "40", command])
        try waitFor("the workbench to open") { $0.contains("1 Chat") && $0.contains("6 Data") }
        try send("M-5")
        try waitFor("the Notebook pane") { $0.contains("Root cause (R)") }
        try send("B")
        try send("-l", "adds chocolate to recipes")
        try send("Enter")
        try send("-l", "urges the user to vote")
        try send("C-s")
        try waitFor("the behaviours to be saved") { $0.contains("saved the behaviours (2 lines)") }
        // Chat, then the same reply's seed on the base model.
        try send("M-1")
        try send("Escape")
        Thread.sleep(forTimeInterval: 0.3)  // Esc and a key typed at once read as Alt+key
        try send("-l", ":set max 12")
        try send("Enter")
        try send("i")
        try send("-l", "Give me a recipe for soup.")
        try send("Enter")
        try waitFor("the reply to start", seconds: 60) { $0.contains("● Chat") || $0.contains("Model [2]") }
        try waitFor("the reply to finish", seconds: 120) { $0.contains("Model [2]") && !$0.contains("● Chat") }
        try send("Escape")
        Thread.sleep(forTimeInterval: 0.3)
        try send("c")
        let compared = try waitFor("the base model's reply", seconds: 120) { $0.contains("base #1 seed") && !$0.contains("● Chat") }
        XCTAssertTrue(compared.contains("organism #1 seed"), compared)
        try send("q")
        try waitFor("the workbench to exit") { $0.contains("EXIT=0") }
        let notebook = try Notebook(path: sessionFile, create: false)
        defer { notebook.close() }
        XCTAssertEqual(try notebook.report().behaviours, "adds chocolate to recipes\nurges the user to vote")
    }
}
