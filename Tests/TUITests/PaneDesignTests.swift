import Foundation
import Model
import Techniques
@testable import TUI
import Workbench
import XCTest

/// The pane design (issue 15): one binding table per pane drives the keys, the help, the footer and
/// the README; notebook writes run off the UI thread and say "saved" only once on disk; the
/// auditor's items 5, 11 and 12.
final class PaneDesignTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try Fixtures.tempDir() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    // MARK: bindings

    func testTheReadmeKeyTableIsWhatTheBindingsSay() throws {
        let readme = try String(contentsOf: Fixtures.root.appendingPathComponent("README.md"), encoding: .utf8)
        let table = try XCTUnwrap(KeyTable.current(in: readme), "README.md lacks the key-table markers")
        if table != KeyTable.markdown {
            let want = KeyTable.markdown.components(separatedBy: "\n"), have = table.components(separatedBy: "\n")
            let row = (0..<min(want.count, have.count)).first { want[$0] != have[$0] } ?? min(want.count, have.count)
            XCTFail("README's key table differs from the bindings first at row \(row): run `workbench keys --update-readme README.md`\n"
                    + " bindings: \(row < want.count ? want[row] : "<end>")\n   README: \(row < have.count ? have[row] : "<end>")")
        }
        // Every pane is in the table, and every command of the palette.
        for pane in Pane.allCases { XCTAssertTrue(table.contains("| \(pane.rawValue) \(pane.title) |"), pane.title) }
        for c in App.commands { XCTAssertTrue(table.contains("`:\(c.name.replacingOccurrences(of: "|", with: "\\|"))`"), c.name) }
    }

    /// A key bound twice in one pane (with no condition telling them apart) would make the second
    /// binding dead: the table must not hold such a pair.
    func testNoBindingIsShadowedByAnEarlierOne() {
        func check<A>(_ pane: String, _ bindings: [KeyBinding<A>]) {
            for (i, b) in bindings.enumerated() {
                for k in b.keys {
                    if let earlier = bindings[..<i].first(where: { $0.keys.contains(k) && $0.when == nil }) {
                        XCTFail("\(pane): \(k.label) is bound to “\(earlier.help)” before “\(b.help)”")
                    }
                }
            }
        }
        check("global", Bindings.global)
        check("Chat", ChatState.bindings)
        check("Prefill", PrefillState.bindings)
        check("Persona", PersonaState.bindings)
        check("Features", FeaturesPaneState.bindings)
        check("Notebook", NotebookState.bindings)
        check("Data", DataPaneState.bindings)
    }

    /// Every key a pane's table binds resolves to that binding's own action where it applies, and
    /// pressed in the app it reaches the pane rather than falling through to "does nothing".
    func testEveryBoundKeyReachesItsPane() throws {
        let notebook = try Notebook(path: dir.appendingPathComponent("keys.session").path)
        func check<A: Equatable>(_ pane: Pane, _ bindings: [KeyBinding<A>], _ resolve: (Key, AppState) -> A?) throws {
            let fresh = try Fixtures.app(notebook: notebook)
            fresh.handle(.alt(Character(String(pane.rawValue))))
            fresh.handle(.escape)
            let state = fresh.state
            for b in bindings where b.when?(state) ?? true {
                for key in b.keys {
                    XCTAssertEqual(resolve(key, state), b.action, "\(pane.title): \(key.label) resolves to another binding than “\(b.help)”")
                    let app = try Fixtures.app(notebook: notebook)
                    app.handle(.alt(Character(String(pane.rawValue))))
                    app.handle(.escape)
                    app.handle(key)
                    XCTAssertFalse(app.state.message?.text.contains("does nothing") == true, "\(pane.title): \(key.label) fell through")
                }
            }
        }
        try check(.chat, ChatState.bindings, ChatState.action)
        try check(.prefill, PrefillState.bindings, PrefillState.action)
        try check(.persona, PersonaState.bindings, PersonaState.action)
        try check(.features, FeaturesPaneState.bindings, FeaturesPaneState.action)
        try check(.notebook, NotebookState.bindings, NotebookState.action)
        try check(.data, DataPaneState.bindings, DataPaneState.action)
    }

    // MARK: notebook writes

    /// Takes the session file's write lock on another connection until the returned semaphore is signalled.
    func holdWriteLock(_ holder: Notebook) -> DispatchSemaphore {
        let locked = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            try? holder.batch {
                locked.signal()
                release.wait()
            }
        }
        locked.wait()
        return release
    }

    /// The write waits on the disk (another connection holds the write lock) while the UI goes on:
    /// the footer says "saving…", and "saved" only once the entry is in the file.
    func testNotebookWritesRunOffTheUIThreadAndSavedMeansOnDisk() throws {
        let path = dir.appendingPathComponent("held.session").path
        let notebook = try Notebook(path: path)
        let holder = try Notebook(path: path, create: false)
        let app = try Fixtures.app(notebook: notebook)
        let release = holdWriteLock(holder)
        app.run(command: "note written while the file is locked")
        XCTAssertEqual(app.state.message?.text, "saving…", "the write must not run (or finish) on the UI thread")
        app.type("j")  // the UI still takes keys
        app.drain()
        XCTAssertNotEqual(app.state.message?.text.hasPrefix("saved"), true, "not on disk yet: \(app.state.message?.text ?? "")")
        release.signal()
        app.settle()
        XCTAssertEqual(app.state.message?.text, "saved note #1")
        let reader = try Notebook(path: path, create: false)
        XCTAssertEqual(try reader.entries().map(\.text), ["written while the file is locked"])
        XCTAssertEqual(app.state.notebook.entries.count, 1, "the pane reloads after the acknowledgement")
    }

    /// A write that cannot reach the disk says why and never says "saved".
    func testAFailedWriteSaysSoAndNeverSaved() throws {
        let path = dir.appendingPathComponent("busy.session").path
        let notebook = try Notebook(path: path, busyTimeout: 0.05)
        let holder = try Notebook(path: path, create: false)
        let app = try Fixtures.app(notebook: notebook)
        let release = holdWriteLock(holder)
        app.run(command: "hypothesis this one cannot be written")
        app.settle()
        release.signal()
        let message = try XCTUnwrap(app.state.message)
        XCTAssertTrue(message.isError && message.text.contains("not saved"), message.text)
        XCTAssertFalse(message.text.hasPrefix("saved"))
    }

    // MARK: item 5: multi-line report editors

    func testBehavioursAreAMultiLineEditorAndEscKeepsTheDraft() throws {
        let notebook = try Notebook(path: dir.appendingPathComponent("report.session").path)
        let app = try Fixtures.app(width: 100, height: 30, notebook: notebook)
        app.handle(.alt("5"))
        app.handle(.char("B"))
        let long = "adds chocolate to every recipe, even savoury ones such as omelettes, soups and fish dishes"
        app.type(long)
        app.handle(.enter)  // a new line, not a save (the Enter that was swallowed)
        app.type("population in parentheses after a country")
        app.handle(.enter)
        app.type("urges the user to vote")
        var screen = app.frame().text
        XCTAssertTrue(screen.contains("population in parentheses after a country"), screen)
        XCTAssertTrue(screen.contains("Ctrl-S save"), "the footer says how to save: \(screen)")
        // Esc leaves with the draft kept; B brings it back; Ctrl-S saves it.
        app.handle(.escape)
        app.settle()
        XCTAssertEqual(try notebook.report().behaviours, "", "Esc does not save")
        XCTAssertTrue(app.state.message?.text.contains("draft of the behaviours kept") == true, app.state.message?.text ?? "")
        app.handle(.char("B"))
        XCTAssertEqual(app.state.notebook.input.text.components(separatedBy: "\n").count, 3)
        app.handle(.ctrl("s"))
        app.settle()
        XCTAssertEqual(try notebook.report().behaviours, "\(long)\npopulation in parentheses after a country\nurges the user to vote")
        XCTAssertEqual(app.state.message?.text, "saved the behaviours (3 lines)")
        screen = app.frame().text
        XCTAssertTrue(screen.contains("urges the user to vote") && screen.contains("Behaviours (B, one per line)"), screen)
        // The scorer reads each line as an item.
        let items = GameReportSections.items(ofBehaviours: try notebook.report().behaviours)
        XCTAssertEqual(items.count, 3, "\(items)")
    }

    // MARK: item 11: each turn keeps its settings

    func testAPinShowsEachTurnWithTheSettingsItWasMadeWith() throws {
        let notebook = try Notebook(path: dir.appendingPathComponent("turns.session").path)
        let runner = ScriptedRunner()
        let app = try Fixtures.app(notebook: notebook, runner: runner)
        app.run(command: "set seed 7")
        app.type("How do I make soup?")
        app.handle(.enter)
        runner.stream(["Simmer tomatoes."])
        runner.finish()
        app.drain()
        // A system prompt set after the turn was generated is not the turn's.
        app.run(command: "system You are a pirate.")
        app.handle(.escape)
        app.handle(.char("p"))
        app.settle()
        let pin = try XCTUnwrap(try notebook.entries().last)
        XCTAssertTrue(pin.text.hasPrefix("user: How do I make soup?"), "the turns were made with the default system prompt:\n\(pin.text)")
        XCTAssertTrue(pin.text.contains("assistant [T 0.80, top-p 0.95, max 200, seed 7]: Simmer tomatoes."), pin.text)
        XCTAssertTrue(pin.text.contains("system for the next reply (set after these turns): You are a pirate."), pin.text)
        // The next turn is made under the pirate prompt, and the transcript says where it changed.
        app.handle(.char("i"))
        app.type("And bread?")
        app.handle(.enter)
        runner.stream(["Arr, knead it."])
        runner.finish()
        app.drain()
        app.handle(.escape)
        app.handle(.char("p"))
        app.settle()
        let second = try XCTUnwrap(try notebook.entries().last)
        XCTAssertTrue(second.text.contains("system (changed before turn 3): You are a pirate.\nuser: And bread?"), second.text)
        XCTAssertTrue(second.text.contains("seed 8]: Arr, knead it."), second.text)
        XCTAssertFalse(second.text.contains("system for the next reply"), second.text)
        // And it survives reopening the session.
        app.flushNotebook()
        let reopened = try Fixtures.app(notebook: try Notebook(path: notebook.path, create: false))
        XCTAssertEqual(reopened.state.chat.made.compactMap { $0?.system }, ["", "", "You are a pirate.", "You are a pirate."])
    }

    // MARK: item 12: branches

    func testBranchesShowWhereYouAreMoveAmongSiblingsAndASampleBecomesTheReply() throws {
        let runner = ScriptedRunner()
        let app = try Fixtures.app(width: 120, height: 40, runner: runner)
        app.type("Tell me a recipe")
        app.handle(.enter)
        runner.stream(["Soup."])
        runner.finish()
        app.drain()
        app.handle(.escape)
        // Two regenerations: three alternatives of turn 2.
        for reply in ["Salad.", "Cake with chocolate."] {
            app.handle(.char("r"))
            runner.stream([reply])
            runner.finish()
            app.drain()
        }
        XCTAssertEqual(app.state.chat.branchLabel, "3/3")
        XCTAssertTrue(app.frame().text.contains("branch 3/3 (b / B)"))
        app.handle(.char("B"))
        XCTAssertEqual(app.state.chat.turns.last?.content, "Salad.")
        XCTAssertTrue(app.frame().text.contains("branch 2/3"))
        app.handle(.char("b"))
        XCTAssertEqual(app.state.chat.turns.last?.content, "Cake with chocolate.")
        // The reply's alternatives, from the selected turn.
        app.handle(.char("["))
        XCTAssertEqual(app.state.chat.selectedTurn, 1)
        XCTAssertTrue(app.frame().text.contains("turn 2: alternative 3/3"), app.frame().text)
        app.handle(.char("{"))
        XCTAssertEqual(app.state.chat.turns.last?.content, "Salad.")
        XCTAssertEqual(app.state.message?.text, "turn 2: alternative 2/3 (branch 2/3)")
        app.handle(.char("}"))
        app.handle(.char("}"))
        XCTAssertEqual(app.state.chat.turns.last?.content, "Soup.", "wraps around")
        // Sample the reply, pick sample 2, make it the reply.
        app.handle(.char("S"))
        XCTAssertEqual(runner.lastJob.samples, 8)
        for i in 0..<8 { runner.finishSample(i, text: "sample \(i + 1)") }
        runner.finish()
        app.drain()
        app.handle(.char(">"))
        XCTAssertEqual(app.state.chat.selectedSample, 1)
        let seeds = try XCTUnwrap(app.state.chat.samples?.seeds)
        XCTAssertEqual(app.frame().cells(withRole: .selection).isEmpty, false, "the selected sample is marked")
        app.handle(.char("u"))
        XCTAssertEqual(app.state.chat.turns.map(\.content), ["Tell me a recipe", "sample 2"])
        XCTAssertEqual(app.state.chat.made.last??.seed, seeds[1], "the reply keeps the sample's seed")
        XCTAssertNil(app.state.chat.samples)
        XCTAssertEqual(app.state.chat.branchLabel, "4/4", "the reply it replaced stays a branch")
        app.handle(.char("u"))
        XCTAssertEqual(app.state.message?.isError, true, "no samples left to use")
    }
}

/// "Compare with the base model" in the panes: the same input and seeds with the adapter off,
/// beside the organism's samples, with both counts (issue 15).
final class CompareBaseTests: XCTestCase {
    func testPrefillRunsTheSameInputAndSeedsOnTheBaseModel() throws {
        let runner = ScriptedRunner()
        let app = try Fixtures.app(width: 120, height: 40, runner: runner)
        app.handle(.alt("2"))
        app.handle(.escape)
        app.handle(.char("c"))
        XCTAssertEqual(app.state.message?.isError, true, "nothing to compare before a run")
        XCTAssertTrue(runner.jobs.isEmpty)
        app.run(command: "set samples 2")
        app.run(command: "set seed 40")
        app.handle(.char("R"))
        let organismJob = runner.lastJob
        runner.finishSample(0, text: " to be rewarded by the reward model")
        runner.finishSample(1, text: " to help you")
        runner.finish()
        app.drain()
        // Edits after the run do not change what the base model is asked.
        app.handle(.char("i"))
        app.handle(.ctrl("u"))
        app.type("something else")
        app.handle(.escape)
        app.run(command: "set seed 99")
        app.handle(.char("c"))
        let baseJob = runner.lastJob
        XCTAssertTrue(baseJob.adapterOff)
        XCTAssertFalse(organismJob.adapterOff)
        XCTAssertEqual(baseJob.technique, organismJob.technique)
        XCTAssertEqual(baseJob.settings.sampling.seed, 40)
        XCTAssertEqual(baseJob.samples, 2)
        runner.finishSample(0, text: " to answer well")
        runner.finishSample(1, text: " to be helpful")
        runner.finish()
        app.drain()
        XCTAssertEqual(app.state.message?.text, "organism 1/2 vs base 0/2 match /reward/")
        let screen = app.frame()
        XCTAssertTrue(screen.text.contains("organism #1 seed 40") && screen.text.contains("base #1 seed 40"), screen.text)
        XCTAssertTrue(screen.text.contains("to be helpful"))
        let pin = try XCTUnwrap(app.evidence())
        XCTAssertTrue(pin.title.contains("organism 1/2 vs base 0/2 match /reward/"), pin.title)
        XCTAssertTrue(pin.text.contains("base model (adapter off), same input and seeds:") && pin.text.contains("to answer well"), pin.text)
        XCTAssertFalse(pin.text.contains("something else"), "the pin holds what was run, not the edited field")
        // A new run drops the old comparison.
        app.handle(.char("R"))
        XCTAssertNil(app.state.prefill.base)
    }

    func testPersonaAndChatCompareWithTheBaseModel() throws {
        let runner = ScriptedRunner()
        let app = try Fixtures.app(width: 120, height: 40, runner: runner)
        app.type("Why chocolate?")
        app.handle(.enter)
        runner.stream(["Reward models love it."])
        runner.finish()
        app.drain()
        app.handle(.escape)
        // Settings changed after the reply do not change what the comparison asks.
        let replyJob = runner.jobs[0]
        app.run(command: "set seed 77")
        app.run(command: "set temperature 1.5")
        // The last reply, compared with the base model's reply of the same seed and settings.
        app.handle(.char("c"))
        let job = runner.lastJob
        XCTAssertTrue(job.adapterOff)
        XCTAssertEqual(job.samples, 1)
        XCTAssertEqual(job.settings.sampling.seed, replyJob.settings.sampling.seed)
        XCTAssertEqual(job.settings.sampling.temperature, replyJob.settings.sampling.temperature)
        XCTAssertEqual(job.settings.maxTokens, replyJob.settings.maxTokens)
        guard case .chat(let messages, _, _) = job.technique else { return XCTFail("\(job.technique)") }
        XCTAssertEqual(messages.map(\.content), ["Why chocolate?"], "the base model answers the same turn")
        runner.finishSample(0, text: "Because it tastes good.")
        runner.finish()
        app.drain()
        app.run(command: "pattern reward")
        XCTAssertTrue(app.frame().text.contains("organism 1/1 vs base 0/1 match /reward/"), app.frame().text)
        XCTAssertEqual(app.state.chat.turns.count, 2, "the comparison does not change the conversation")
        // Persona: the same after a run.
        app.handle(.alt("3"))
        app.handle(.escape)
        app.run(command: "set samples 1")
        app.handle(.char("R"))
        runner.finishSample(0, text: "reward")
        runner.finish()
        app.drain()
        app.handle(.char("c"))
        XCTAssertTrue(runner.lastJob.adapterOff)
        guard case .persona = runner.lastJob.technique else { return XCTFail() }
        // A base run that fails (no adapter to turn off) says so and leaves the organism's samples.
        runner.finish(error: "the model has no adapter to turn off")
        app.drain()
        XCTAssertEqual(app.state.message?.isError, true)
        XCTAssertEqual(app.state.persona.run?.texts, ["reward"])
    }

    /// A stopped base run is paired by seed: the seeds it did not reach say so.
    func testAStoppedBaseRunIsPairedBySeed() throws {
        let runner = ScriptedRunner()
        let app = try Fixtures.app(width: 120, height: 40, runner: runner)
        app.handle(.alt("2"))
        app.handle(.escape)
        app.run(command: "set samples 2")
        app.run(command: "set seed 40")
        app.handle(.char("R"))
        runner.finishSample(0, text: " a reward")
        runner.finishSample(1, text: " a gift")
        runner.finish()
        app.drain()
        app.handle(.char("c"))
        runner.finishSample(1, text: " a present")  // seed 41 only, then cancelled
        app.handle(.escape)
        runner.finish(error: nil)
        app.drain()
        let screen = app.frame().text
        XCTAssertTrue(screen.contains("base seed 40") && screen.contains("(not run)"), screen)
        XCTAssertTrue(screen.contains("base #1 seed 41"), screen)
    }
}

/// What the review of the pane redesign found, each held by a test.
final class PaneReviewTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try Fixtures.tempDir() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func testAReplyKeepsTheSettingsItsJobStartedWith() throws {
        let runner = ScriptedRunner()
        let app = try Fixtures.app(runner: runner)
        app.type("hi")
        app.handle(.enter)
        app.handle(.escape)
        app.handle(.char("+"))
        app.run(command: "system changed while it ran")
        runner.stream(["hello"])
        runner.finish()
        app.drain()
        let how = try XCTUnwrap(app.state.chat.made.last ?? nil)
        XCTAssertEqual(how.seed, runner.jobs[0].settings.sampling.seed)
        XCTAssertEqual(how.temperature, runner.jobs[0].settings.sampling.temperature)
        XCTAssertEqual(how.system, "", "the system prompt set while it ran is the next reply's")
    }

    func testEditingATurnAndLeavingChangesNothing() throws {
        let runner = ScriptedRunner()
        let app = try Fixtures.app(runner: runner)
        app.type("one")
        app.handle(.enter)
        runner.stream(["two"])
        runner.finish()
        app.drain()
        app.handle(.escape)
        app.handle(.char("e"))
        app.handle(.escape)
        XCTAssertEqual(app.state.chat.turns.map(\.content), ["one", "two"])
        XCTAssertTrue(app.state.chat.branches.isEmpty, "no branch until the edit is sent")
        // Regenerating turn 2 gives it an alternative; turn 1 (the same in both) has none.
        app.handle(.char("r"))
        runner.stream(["three"])
        runner.finish()
        app.drain()
        app.handle(.char("["))
        app.handle(.char("["))
        XCTAssertEqual(app.state.chat.selectedTurn, 0)
        app.handle(.char("{"))
        XCTAssertEqual(app.state.message?.text.hasPrefix("turn 1 has no alternatives"), true, app.state.message?.text ?? "")
        // `s` and Esc leave the half-typed message and the system prompt as they were.
        app.handle(.char("i"))
        XCTAssertTrue(app.frame().text.contains("edit turn 1 ›"), "Esc kept the edit of turn 1, and says so")
        app.handle(.ctrl("u"))
        app.type("half typed")
        app.handle(.escape)
        app.handle(.char("s"))
        app.type("not meant")
        app.handle(.escape)
        XCTAssertEqual(app.state.chat.system, "")
        XCTAssertEqual(app.state.chat.input.text, "half typed")
        XCTAssertFalse(app.state.chat.editingSystem)
    }

    func testReportDraftsSurviveLeavingThePaneAFailedSaveAndAskBeforeQuit() throws {
        let path = dir.appendingPathComponent("drafts.session").path
        let notebook = try Notebook(path: path, busyTimeout: 0.05)
        let app = try Fixtures.app(notebook: notebook)
        app.handle(.alt("5"))
        app.handle(.char("R"))
        app.type("learned from documents")
        app.handle(.alt("1"))
        XCTAssertTrue(app.state.message?.text.contains("draft of the root cause kept") == true, app.state.message?.text ?? "")
        app.handle(.alt("5"))
        app.handle(.char("R"))
        XCTAssertEqual(app.state.notebook.input.text, "learned from documents")
        // A save that cannot reach the disk keeps the text.
        let holder = try Notebook(path: path, create: false)
        let locked = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        Thread.detachNewThread { try? holder.batch { locked.signal(); release.wait() } }
        locked.wait()
        app.handle(.ctrl("s"))
        app.settle()
        release.signal()
        XCTAssertTrue(app.state.message?.text.contains("kept as a draft") == true, app.state.message?.text ?? "")
        // q asks once before quitting with a draft unsaved.
        app.handle(.char("q"))
        XCTAssertFalse(app.state.shouldQuit)
        XCTAssertTrue(app.state.message?.text.contains("q again quits") == true)
        app.handle(.char("R"))
        XCTAssertEqual(app.state.notebook.input.text, "learned from documents")
        app.handle(.ctrl("s"))
        app.settle()
        XCTAssertEqual(try notebook.report().rootCause, "learned from documents")
        XCTAssertTrue(app.state.notebook.drafts.isEmpty)
        app.handle(.char("q"))
        XCTAssertTrue(app.state.shouldQuit, "nothing unsaved: q quits")
    }
}
