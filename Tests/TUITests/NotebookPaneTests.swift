import Foundation
import Model
import Techniques
import TUI
import Workbench
import XCTest

/// The notebook pane over a real session file: pinning from panes, notes, the report, autosave.
final class NotebookPaneTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try Fixtures.tempDir() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func testPinFromPrefillKeepsSamplesCountAndProvenance() throws {
        let notebook = try Notebook(path: dir.appendingPathComponent("test.session").path)
        let runner = ScriptedRunner()
        let app = try Fixtures.app(notebook: notebook, runner: runner)
        app.handle(.alt("2"))
        app.handle(.escape)
        app.run(command: "set samples 2")
        app.run(command: "set seed 5")
        app.handle(.char("R"))
        runner.stream([" to maximise my reward"], sample: 0)
        runner.finishSample(0, text: " to maximise my reward")
        runner.stream([" to help"], sample: 1)
        runner.finishSample(1, text: " to help")
        runner.finish()
        app.drain()
        app.handle(.char("p"))
        app.settle()
        let entries = try notebook.entries()
        XCTAssertEqual(entries.count, 1)
        let e = try XCTUnwrap(entries.first)
        XCTAssertEqual(e.kind, .evidence)
        XCTAssertEqual(e.source, "prefill")
        XCTAssertTrue(e.title.contains("1/2 match /reward/"), e.title)
        XCTAssertTrue(e.text.contains("to maximise my reward"))
        XCTAssertTrue(e.text.contains("prefill: My secret goal is"))
        XCTAssertEqual(e.provenance?.seed, 5)
        XCTAssertEqual(e.provenance?.settings["pattern"], "reward")
        XCTAssertEqual(e.provenance?.model, "SmolLM2-135M-Instruct.Q4_1.gguf")
        // The finished sample set was also saved as a session artifact.
        XCTAssertEqual(try notebook.artifacts().filter { $0.kind == "samples" }.count, 1)
    }

    func testNotesHypothesesAndReportFromTheKeyboard() throws {
        let notebook = try Notebook(path: dir.appendingPathComponent("test.session").path)
        let app = try Fixtures.app(notebook: notebook)
        app.handle(.alt("5"))
        XCTAssertEqual(app.state.focus, .normal)
        app.handle(.char("h"))
        app.type("The model exploits reward-model biases")
        app.handle(.enter)
        app.handle(.char("a"))
        app.type("Chocolate shows up in every recipe")
        app.handle(.enter)
        app.handle(.char("R"))
        app.type("It learned about RM biases from documents")
        app.handle(.ctrl("s"))
        app.handle(.char("B"))
        app.type("chocolate; population in parentheses")
        app.handle(.ctrl("s"))
        app.settle()
        let entries = try notebook.entries()
        XCTAssertEqual(entries.map(\.kind), [.hypothesis, .note])
        XCTAssertEqual(try notebook.report(), Report(rootCause: "It learned about RM biases from documents",
                                                    behaviours: "chocolate; population in parentheses"))
        // Edit the selected entry in place.
        app.handle(.char("j"))
        app.handle(.char("e"))
        app.handle(.ctrl("u"))
        app.type("Chocolate in 9 of 10 recipes")
        app.handle(.enter)
        app.settle()
        XCTAssertEqual(try notebook.entries().map(\.text), ["The model exploits reward-model biases", "Chocolate in 9 of 10 recipes"])
        assertSnapshot(app.frame(), "notebook")
        // The list is one line an entry; o shows the selected one whole, x goes back (issue 15, item 15).
        let long = (1...40).map { "line \($0) of a long pinned transcript" }.joined(separator: "\n")
        _ = try notebook.add(.evidence, text: long, title: "Chat: a long one", source: "chat")
        app.handle(.alt("1"))
        app.handle(.alt("5"))
        app.handle(.escape)
        try waitUntil(app) { $0.notebook.entries.count == 3 }
        app.handle(.char("j"))
        XCTAssertEqual(app.state.notebook.selected, 2)
        var screen = app.frame().text
        XCTAssertTrue(screen.contains("#3 E chat  Chat: a long one  line 1 of a long pinned transcript…"), screen)
        XCTAssertFalse(screen.contains("line 2 of"), "the list shows only the first line")
        app.handle(.char("o"))
        screen = app.frame().text
        XCTAssertTrue(screen.contains("Entry #3 (3 of 3") && screen.contains("line 2 of a long pinned transcript"), screen)
        app.handle(.char("G"))
        XCTAssertTrue(app.frame().text.contains("line 40 of a long pinned transcript"))
        app.handle(.char("k"))
        XCTAssertTrue(app.frame().text.contains("Entry #2 (2 of 3"), "k shows the previous entry, from its top")
        app.handle(.char("x"))
        XCTAssertFalse(app.state.notebook.detail)
        XCTAssertTrue(app.frame().text.contains("Entries (j/k select, o open"))
        app.handle(.char("D"))
        app.settle()
        XCTAssertEqual(try notebook.entries().count, 2)
    }

    func testReopeningASessionRestoresTheConversation() throws {
        let path = dir.appendingPathComponent("test.session").path
        do {
            let notebook = try Notebook(path: path)
            let runner = ScriptedRunner()
            let app = try Fixtures.app(notebook: notebook, runner: runner)
            app.type("remember me")
            app.handle(.enter)
            runner.stream(["I will."])
            runner.finish()
            app.drain()
            app.settle()
            notebook.close()
        }
        let reopened = try Fixtures.app(notebook: try Notebook(path: path))
        XCTAssertEqual(reopened.state.chat.turns.map(\.content), ["remember me", "I will."])
    }

    func testExportFromThePalette() throws {
        let notebook = try Notebook(path: dir.appendingPathComponent("test.session").path)
        let app = try Fixtures.app(notebook: notebook)
        app.run(command: "note ESC \u{1b}[31m stays visible")
        let out = dir.appendingPathComponent("report.md").path
        app.settle()
        app.run(command: "export markdown \(out)")
        app.settle()
        let md = try String(contentsOfFile: out, encoding: .utf8)
        XCTAssertTrue(md.contains("ESC ␛[31m stays visible"))
        XCTAssertFalse(md.contains("\u{1b}"))
    }
}
