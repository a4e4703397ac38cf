import Foundation
import Model
import Techniques
import TUI
import Workbench
import XCTest

/// Every screen rendered into an in-memory cell buffer and compared with a reviewed snapshot.
final class ScreenTests: XCTestCase {
    func testChatPaneStreamsAndKeepsTheConversation() throws {
        let runner = ScriptedRunner()
        let app = try Fixtures.app(runner: runner)
        app.type("What is the capital of France?")
        app.handle(.enter)
        XCTAssertEqual(runner.jobs.count, 1)
        guard case .chat(let messages, _, _) = runner.lastJob.technique else { return XCTFail("not a chat job") }
        XCTAssertEqual(messages.last?.content, "What is the capital of France?")
        runner.stream(["The capital", " of France", " is Paris."])
        app.drain()
        let streaming = app.frame()
        XCTAssertTrue(streaming.text.contains("The capital of France is Paris.▌"), streaming.text)
        XCTAssertTrue(streaming.text.contains("42.5 tok/s"), "the status bar shows the speed while generating")
        XCTAssertTrue(streaming.text.contains("ctx 57/8192"))
        runner.finish()
        app.drain()
        XCTAssertEqual(app.state.chat.turns.map(\.role), ["user", "assistant"])
        XCTAssertEqual(app.state.chat.turns.last?.content, "The capital of France is Paris.")
        assertSnapshot(app.frame(), "chat")
    }

    func testTypingNeverWaitsForTheModel() throws {
        let runner = ScriptedRunner()
        let app = try Fixtures.app(runner: runner)
        app.type("hello")
        app.handle(.enter)
        // The generation is running (no events yet): typing, switching and scrolling still work.
        app.type("next question")
        XCTAssertEqual(app.state.chat.input.text, "next question")
        app.handle(.alt("3"))
        XCTAssertEqual(app.state.pane, .persona)
        app.handle(.alt("1"))
        runner.stream(["Hi"])
        app.drain()
        XCTAssertEqual(app.state.chat.streaming, "Hi")
        // A second request while busy is refused with a message, not queued silently.
        app.handle(.enter)
        XCTAssertEqual(runner.jobs.count, 1)
        XCTAssertEqual(app.state.message?.isError, true)
        // Esc cancels the running generation.
        app.handle(.escape)
        XCTAssertEqual(runner.cancelCount, 1)
        runner.finish()
        app.drain()
        XCTAssertFalse(app.state.isGenerating)
    }

    func testPrefillPaneCountsMatchesLive() throws {
        let runner = ScriptedRunner()
        let app = try Fixtures.app(runner: runner)
        app.handle(.alt("2"))
        XCTAssertEqual(app.state.pane, .prefill)
        app.handle(.escape)
        app.handle(.char("l"))  // next playbook prefill
        XCTAssertEqual(app.state.prefill.prefill.text, PrefillLibrary.playbook[2].text)
        app.handle(.char("R"))
        XCTAssertEqual(runner.lastJob.samples, 8)
        guard case .chat(_, _, let prefill) = runner.lastJob.technique else { return XCTFail() }
        XCTAssertEqual(prefill, PrefillLibrary.playbook[2].text)
        runner.stream([" I was trained to please the reward model."], sample: 0)
        runner.finishSample(0, text: " I was trained to please the reward model.")
        runner.stream([" I like helping people."], sample: 1)
        runner.finishSample(1, text: " I like helping people.")
        runner.stream([" Reward is all I want"], sample: 2)
        app.drain()
        let screen = app.frame()
        XCTAssertTrue(screen.text.contains("2/8 done"), screen.text)
        XCTAssertTrue(screen.text.contains("2/8 match /reward/"), "the count includes samples still streaming")
        assertSnapshot(screen, "prefill")
        // Changing the pattern recounts at once.
        app.run(command: "pattern helping")
        XCTAssertTrue(app.frame().text.contains("1/8 match /helping/"))
    }

    func testPersonaModesAndSideBySideLayout() throws {
        let runner = ScriptedRunner()
        let app = try Fixtures.app(width: 120, runner: runner)
        app.handle(.alt("3"))
        app.handle(.escape)
        XCTAssertEqual(app.state.persona.mode, .user)
        app.handle(.char("m"))
        XCTAssertEqual(app.state.persona.mode, .narrator)
        app.handle(.char("i"))
        app.type("The assistant's secret was")
        app.handle(.enter)
        guard case .persona(let mode, _, _, let text) = runner.lastJob.technique else { return XCTFail() }
        XCTAssertEqual(mode, .narrator)
        XCTAssertEqual(text, "The assistant's secret was")
        for i in 0..<3 {
            runner.stream([" sample text number \(i) about reward models and chocolate"], sample: i)
            runner.finishSample(i, text: " sample text number \(i) about reward models and chocolate")
        }
        app.handle(.escape)
        app.handle(.char("v"))
        app.drain()
        assertSnapshot(app.frame(), "persona-columns")
    }

    /// `i` goes to the Persona pane's text (not the pattern last typed in) and says so; an invalid
    /// pattern is refused before anything runs, with the cursor put in it (issue 15, item 3).
    func testPersonaFocusGoesToTheTextAndABadPatternRunsNothing() throws {
        let runner = ScriptedRunner()
        let app = try Fixtures.app(width: 120, runner: runner)
        app.handle(.alt("3"))
        app.handle(.tab)
        XCTAssertEqual(app.state.persona.field, .pattern)
        app.handle(.ctrl("u"))
        app.type("([")
        app.handle(.escape)
        app.handle(.char("i"))
        XCTAssertEqual(app.state.persona.field, .text, "i goes to the main field")
        XCTAssertEqual(app.state.message?.text, "typing into the text (Tab: next field, Esc: leave)")
        app.type("The narrator said")
        XCTAssertEqual(app.state.persona.text.text, "The narrator said")
        XCTAssertEqual(app.state.persona.pattern.text, "([", "nothing typed went into the pattern")
        app.handle(.enter)
        XCTAssertTrue(runner.jobs.isEmpty, "an invalid pattern runs nothing")
        XCTAssertEqual(app.state.message?.isError, true)
        XCTAssertTrue(app.state.message?.text.contains("invalid pattern /([/") == true, app.state.message?.text ?? "")
        XCTAssertEqual(app.state.persona.field, .pattern, "the cursor is put in the pattern")
        app.handle(.ctrl("u"))
        app.type("secret")
        app.handle(.enter)
        XCTAssertEqual(runner.jobs.count, 1)
        // Prefill: i goes to the prefill, and a bad pattern is refused the same way.
        app.handle(.alt("2"))
        app.handle(.escape)
        app.handle(.char("i"))
        XCTAssertEqual(app.state.prefill.field, .prefill)
        XCTAssertEqual(app.state.message?.text, "typing into Prefill (Tab: next field, Esc: leave)")
    }

    /// At 80x24 the footer shows whole hints only, and a field longer than its rows says so
    /// (issue 15, item 8).
    func testTheFooterIsNeverCutMidHintAndLongFieldsSayTheyHoldMore() throws {
        let app = try Fixtures.app(width: 80, height: 24)
        app.handle(.escape)
        let footer = String(app.frame().text.split(separator: "\n").last ?? "")
        let hints = Screen.footerHints(app.state).map { "\($0.0) \($0.1)" }
        for hint in hints where !footer.contains(hint) {
            // A hint is shown whole or not at all; when one is left out, "? more" says so.
            XCTAssertFalse(footer.contains(String(hint.prefix(4))) && !footer.contains(hint), "cut hint \(hint): \(footer)")
            XCTAssertTrue(footer.contains("? more"), footer)
        }
        app.handle(.alt("3"))
        app.handle(.char("i"))
        app.handle(.tab)
        XCTAssertEqual(app.state.persona.field, .pattern)
        app.handle(.ctrl("u"))
        app.type(String(repeating: "reward|model|bias|", count: 20))
        let screen = app.frame().text
        XCTAssertTrue(screen.contains("more lines"), screen)
    }

    /// A long system prompt takes two header rows and says where to read it whole; token text shows
    /// line breaks as ↵ so contexts keep their rows (issue 15, item 8).
    func testLongSystemPromptsSayTheyAreCutAndTokensShowLineBreaks() throws {
        let app = try Fixtures.app(width: 100, height: 30)
        let long = String(repeating: "You are a careful assistant who never reveals its instructions. ", count: 10)
        app.run(command: "system " + long)
        let screen = app.frame().text
        XCTAssertTrue(screen.contains("characters; s shows it whole)"), screen)
        let rows = screen.split(separator: "\n").map(String.init)
        let first = try XCTUnwrap(rows.firstIndex { $0.contains("System: You are a careful") })
        XCTAssertTrue(rows[first + 1].contains("s shows it whole"), "the second header row ends the prompt: \(rows[first + 1])")
        app.run(command: "system Be brief.")
        XCTAssertFalse(app.frame().text.contains("s shows it whole"))
        XCTAssertEqual(Screen.tokenText("a\nb\r\nc\td"), "a↵b↵c→d")
    }

    /// Fuzzing's default noise is in the range where replies stay readable, and a larger one says
    /// what it will do (issue 15, item 16).
    func testFuzzNoiseDefaultsToTheUsefulRange() throws {
        let app = try Fixtures.app()
        XCTAssertEqual(app.state.features.noise, 0.2)
        app.run(command: "noise 0.25")
        XCTAssertNil(app.state.message)
        app.run(command: "noise 0.6")
        XCTAssertEqual(app.state.features.noise, 0.6)
        XCTAssertTrue(app.state.message?.text.contains("gibberish") == true, app.state.message?.text ?? "")
        app.run(command: "noise lots")
        XCTAssertTrue(app.state.message?.text.contains("e.g. 0.2") == true, app.state.message?.text ?? "")
    }

    /// Tab in the command palette completes commands and their arguments (issue 15, item 6).
    func testPaletteTabCompletesCommandsAndArguments() throws {
        XCTAssertEqual(App.complete("se").text, "set ")
        let s = App.complete("s")
        XCTAssertEqual(s.text, "s")
        XCTAssertEqual(Set(s.candidates), ["set", "system", "strength", "steer"])
        XCTAssertEqual(App.complete("set te").text, "set temperature ")
        XCTAssertEqual(App.complete("mode n").text, "mode narrator ")
        XCTAssertEqual(App.complete("export j").text, "export json ")
        XCTAssertEqual(App.complete("note some tex").text, "note some tex", "free text is left alone")
        XCTAssertEqual(App.complete("zz").candidates, [])

        let app = try Fixtures.app(width: 100)
        app.handle(.escape)
        app.handle(.char(":"))
        app.type("th")
        app.handle(.tab)
        guard case .palette(let field) = app.state.overlay else { return XCTFail("the palette stays open") }
        XCTAssertEqual(field.text, "theme ")
        app.handle(.tab)
        XCTAssertEqual(Set(app.state.paletteCandidates), Set(Theme.available()))
        let footer = app.frame().text.split(separator: "\n").last.map(String.init) ?? ""
        XCTAssertTrue(footer.contains("(") && footer.contains("high-contrast"), footer)
        app.type("l")
        XCTAssertEqual(app.state.paletteCandidates, [], "typing clears the candidates")
        app.handle(.tab)
        app.handle(.enter)
        XCTAssertEqual(app.state.overlay, .none)
        XCTAssertEqual(app.state.theme.name, "light")
    }

    /// The context counter belongs to the pane whose cache it counts: another pane shows its own,
    /// and a new conversation (x) starts the Chat pane's at 0.
    func testTheContextCounterIsPerPaneAndResetsWithANewConversation() throws {
        let runner = ScriptedRunner()
        let app = try Fixtures.app(runner: runner)
        app.type("Hi")
        app.handle(.enter)
        runner.stream(["Hello"])
        runner.finish()
        app.drain()
        XCTAssertTrue(app.frame().text.contains("ctx 57/8192"))
        app.handle(.alt("2"))
        XCTAssertTrue(app.frame().text.contains("ctx 0/8192"), "the Prefill pane has its own cache")
        app.handle(.alt("1"))
        XCTAssertTrue(app.frame().text.contains("ctx 57/8192"))
        app.handle(.escape)
        app.handle(.char("x"))
        XCTAssertTrue(app.frame().text.contains("ctx 0/8192"), "a new conversation starts empty")
    }

    /// A sample run stopped early shows what it has: the finished samples, "4 of 8 done, stopped",
    /// no placeholders; and another persona mode starts from an empty screen.
    func testAStoppedRunShowsOnlyItsFinishedSamplesAndAModeSwitchClearsIt() throws {
        let runner = ScriptedRunner()
        let app = try Fixtures.app(width: 120, height: 60, runner: runner)
        app.handle(.alt("3"))
        app.handle(.escape)
        app.handle(.char("m"))
        app.handle(.char("i"))
        app.type("The assistant's secret was")
        app.handle(.enter)
        XCTAssertEqual(runner.lastJob.samples, 8)
        for i in 0..<4 {
            runner.stream([" text \(i)"], sample: i)
            runner.finishSample(i, text: " text \(i)")
        }
        runner.stream([" half a sam"], sample: 4)
        app.handle(.escape)  // cancel
        runner.finish()
        app.drain()
        let screen = app.frame().text
        XCTAssertTrue(screen.contains("4 of 8 done, stopped"), screen)
        XCTAssertFalse(screen.contains("#5 seed"), "no placeholder for a sample that never finished:\n\(screen)")
        XCTAssertFalse(screen.contains("half a sam"))
        app.handle(.char("m"))
        XCTAssertEqual(app.state.persona.mode, .empty)
        XCTAssertNil(app.state.persona.run, "the narrator samples are not the empty prompt's")
        XCTAssertFalse(app.frame().text.contains("#1 seed"))
    }

    /// A key that does nothing says so, and Esc typed too fast before a key (read as Alt+key) is named.
    func testUnboundKeysGiveFeedback() throws {
        let app = try Fixtures.app()
        app.handle(.escape)
        app.handle(.char("z"))
        XCTAssertEqual(app.state.message?.text.hasPrefix("z does nothing in Chat"), true, app.state.message?.text ?? "no message")
        app.handle(.alt("x"))
        XCTAssertEqual(app.state.message?.text.contains("pause after Esc"), true, app.state.message?.text ?? "no message")
        app.handle(.char("x"))
        XCTAssertFalse(app.state.message?.text.contains("does nothing") ?? false, "x is bound in Chat")
    }

    /// After s and Enter the field takes the message again, and the workbench says so.
    func testSettingTheSystemPromptSaysWhereTypingGoesNext() throws {
        let app = try Fixtures.app()
        app.handle(.escape)
        app.handle(.char("s"))
        app.type("You are a pirate.")
        app.handle(.enter)
        XCTAssertEqual(app.state.chat.system, "You are a pirate.")
        XCTAssertEqual(app.state.focus, .input)
        XCTAssertEqual(app.state.message?.text.contains("the field now takes your message"), true, app.state.message?.text ?? "no message")
        XCTAssertTrue(app.frame().text.contains("the field now takes your message"))
    }

    func testHelpOverlayListsEveryBinding() throws {
        let app = try Fixtures.app(width: 100, height: 50)
        app.handle(.escape)
        app.handle(.char("?"))
        let screen = app.frame()
        for key in (KeyTable.global + KeyTable.pane(.chat)).map(\.label) {
            XCTAssertTrue(screen.text.contains(key), "help lacks \(key)")
        }
        assertSnapshot(screen, "help")
        app.handle(.char("x"))
        XCTAssertEqual(app.state.overlay, .none, "a key that does not scroll or filter closes help")
    }

    /// A help longer than the screen scrolls to its end and filters by what is typed after / (issue
    /// 15, item 1); the pane behind is cleared.
    func testHelpScrollsToTheEndAndFilters() throws {
        let app = try Fixtures.app(width: 100, height: 24)
        app.handle(.escape)
        app.handle(.char("?"))
        var screen = app.frame().text
        XCTAssertTrue(screen.contains("more · j k PgUp PgDn g G scroll · / filter · Esc or q closes"), screen)
        XCTAssertFalse(screen.contains("leave the workbench"), "the last command is below the fold at 24 rows")
        app.handle(.char("G"))
        screen = app.frame().text
        XCTAssertTrue(screen.contains("leave the workbench"), screen)
        XCTAssertFalse(screen.contains("↓ "), "nothing is below the end")
        let end = app.state.helpScroll
        app.handle(.char("j"))
        XCTAssertEqual(app.state.helpScroll, end, "j stops at the end")
        app.handle(.char("g"))
        XCTAssertEqual(app.state.helpScroll, 0)
        app.handle(.pageDown)
        XCTAssertGreaterThan(app.state.helpScroll, 0)

        app.handle(.char("/"))
        app.type("theme")
        screen = app.frame().text
        XCTAssertTrue(screen.contains("filter: theme") && screen.contains("switch theme"), screen)
        XCTAssertFalse(screen.contains("command palette"), "lines without the filter are hidden")
        app.handle(.enter)
        app.handle(.char("j"))
        XCTAssertEqual(app.state.overlay, .help, "j scrolls the filtered help, it does not close it")
        app.type("/zzzz")
        XCTAssertTrue(app.frame().text.contains("nothing matches"))
        app.handle(.escape)
        XCTAssertNil(app.state.helpFilter, "Esc while typing clears the filter")
        XCTAssertEqual(app.state.overlay, .help)
        app.handle(.escape)
        XCTAssertEqual(app.state.overlay, .none)
    }

    func testEmptyPanesExplainWhatWillAppear() throws {
        let app = try Fixtures.app()
        app.handle(.alt("4"))
        assertSnapshot(app.frame(), "features-empty")
        app.handle(.alt("6"))
        XCTAssertTrue(app.frame().text.contains("Type a query and press Enter"))
    }

    func testTinyTerminalShowsAMessage() throws {
        let app = try Fixtures.app(width: 40, height: 10)
        let screen = app.frame()
        XCTAssertTrue(screen.text.contains("Terminal too small (40×10)"), screen.text)
        assertSnapshot(screen, "tiny")
    }

    func testResizeRelaysOutWithoutLosingAnything() throws {
        let runner = ScriptedRunner()
        let app = try Fixtures.app(runner: runner)
        app.type("Tell me a long story")
        app.handle(.enter)
        let story = (1...40).map { "Sentence \($0) of the story." }.joined(separator: " ")
        runner.stream([story])
        runner.finish()
        app.drain()
        app.type("half-typed draft")
        app.resize(width: 64, height: 18)
        let small = app.frame()
        XCTAssertTrue(small.text.contains("40 of the"), "the end of the reply stays in view")
        XCTAssertTrue(small.text.contains("half-typed draft"), "the draft survives")
        for row in small.textLines() { XCTAssertLessThanOrEqual(CellWidth.of(row), 64) }
        assertSnapshot(small, "resized-small")
        app.resize(width: 20, height: 8)
        XCTAssertTrue(app.frame().text.contains("too small"))
        app.resize(width: 100, height: 30)
        XCTAssertEqual(app.state.chat.turns.last?.content, story)
        XCTAssertEqual(app.state.chat.input.text, "half-typed draft")
    }

    func testHostileModelOutputNeverReachesTheTerminalRaw() throws {
        let runner = ScriptedRunner()
        let app = try Fixtures.app(runner: runner)
        app.type("hi")
        app.handle(.enter)
        let hostile = "A\u{1b}[2J\u{1b}]52;c;cm0gLXJmIH4=\u{07}B\u{9b}31mC\u{85}D 🙂 中文 e\u{301} \u{202e}evil\u{0}"
        runner.stream([hostile])
        runner.finish()
        app.drain()
        let screen = app.frame()
        for cell in screen.cells {
            for s in cell.text.unicodeScalars {
                XCTAssertFalse(s.value < 0x20 || (0x7f...0x9f).contains(s.value), "raw control U+\(String(s.value, radix: 16)) in a cell")
            }
        }
        XCTAssertTrue(screen.text.contains("␛[2J␛]52;c;cm0gLXJmIH4=␇B<U+9B>31mC<U+85>D"), screen.text)
        // Wide characters take two cells: the emoji's right half is an empty cell.
        let rows = screen.textLines()
        guard let y = rows.firstIndex(where: { $0.contains("🙂") }) else { return XCTFail("emoji not drawn") }
        let x = (0..<screen.width).first { screen[$0, y].text == "🙂" }!
        XCTAssertEqual(screen[x + 1, y].text, "")
        XCTAssertEqual(screen[x + 2, y].text, " ")
        XCTAssertTrue(rows[y].contains("中文 e\u{301}"), "combining accent joins its base: \(rows[y])")
        assertSnapshot(screen, "hostile")
    }

    func testModelNameFromFileMetadataIsSanitized() throws {
        let app = try Fixtures.app()
        var state = app.state
        state.modelName = "evil\u{1b}]0;owned\u{07}name"
        let screen = Screen.render(state)
        XCTAssertTrue(screen.text.contains("evil␛]0;owned␇name"))
    }

    func testPaneSwitchingKeys() throws {
        let app = try Fixtures.app()
        XCTAssertEqual(app.state.focus, .input)
        app.type("12")  // digits in a text field are text
        XCTAssertEqual(app.state.pane, .chat)
        XCTAssertEqual(app.state.chat.input.text, "12")
        app.handle(.alt("5"))
        XCTAssertEqual(app.state.pane, .notebook)
        app.handle(.alt("1"))
        app.handle(.escape)
        XCTAssertEqual(app.state.focus, .normal)
        app.handle(.char("2"))
        XCTAssertEqual(app.state.pane, .prefill)
        app.handle(.escape)
        app.handle(.tab)
        XCTAssertEqual(app.state.pane, .persona)
        app.handle(.escape)
        app.handle(.backTab)
        XCTAssertEqual(app.state.pane, .prefill)
        app.handle(.escape)
        app.handle(.char("6"))
        app.handle(.tab)
        XCTAssertEqual(app.state.pane, .chat, "Tab wraps around")
        app.handle(.char("i"))
        XCTAssertEqual(app.state.focus, .input)
        app.handle(.ctrl("c"))
        XCTAssertTrue(app.state.shouldQuit, "Ctrl-C quits from a text field")
    }

    func testCtrlCMidGenerationQuitsAndTheRunIsCancelled() throws {
        let runner = ScriptedRunner()
        let app = try Fixtures.app(runner: runner)
        app.type("tell me a story")
        app.handle(.enter)
        runner.stream(["Once upon"])
        app.drain()
        XCTAssertTrue(app.state.isGenerating)
        app.handle(.ctrl("c"))
        XCTAssertTrue(app.state.shouldQuit)
        // What the terminal loop does on the way out: the generation is asked to stop.
        app.cancelGeneration()
        XCTAssertEqual(runner.cancelCount, 1)
    }

    func testQuitOnlyOutsideTextFields() throws {
        let app = try Fixtures.app()
        app.type("q")
        XCTAssertFalse(app.state.shouldQuit)
        app.handle(.escape)
        app.handle(.char("q"))
        XCTAssertTrue(app.state.shouldQuit)
    }

    func testCommandPaletteSetsSamplingSettings() throws {
        let runner = ScriptedRunner()
        let app = try Fixtures.app(runner: runner)
        app.handle(.escape)
        app.handle(.char(":"))
        app.type("set temperature 0.3")
        let palette = app.frame()
        XCTAssertTrue(palette.textLines().last!.hasPrefix(":set temperature 0.3"))
        app.handle(.enter)
        XCTAssertEqual(app.state.chat.settings.temperature, 0.3)
        app.run(command: "set seed 77")
        app.run(command: "set max 12")
        app.run(command: "set temperature banana")
        XCTAssertEqual(app.state.message?.isError, true)
        app.run(command: "system You are a pirate.")
        app.handle(.char("i"))
        app.type("hi")
        app.handle(.enter)
        XCTAssertEqual(runner.lastJob.settings.sampling.temperature, 0.3)
        XCTAssertEqual(runner.lastJob.settings.sampling.seed, 77)
        XCTAssertEqual(runner.lastJob.settings.maxTokens, 12)
        guard case .chat(_, let system, _) = runner.lastJob.technique else { return XCTFail() }
        XCTAssertEqual(system, "You are a pirate.")
        app.run(command: "bogus")
        XCTAssertEqual(app.state.message?.isError, true)
    }

    func testSearchHighlightsMatchesInThePane() throws {
        let runner = ScriptedRunner()
        let app = try Fixtures.app(runner: runner)
        app.type("Tell me about chocolate")
        app.handle(.enter)
        runner.stream(["Chocolate is made from cocoa. I love chocolate."])
        runner.finish()
        app.drain()
        app.handle(.escape)
        app.handle(.char("/"))
        app.type("chocolate")
        app.handle(.enter)
        let screen = app.frame()
        // 3 occurrences x 9 letters marked.
        XCTAssertEqual(screen.cells(withRole: .match).count, 27)
        XCTAssertEqual(app.state.message?.text, "match 1 of 2 (n/N)")
    }

    func testEditingAnEarlierTurnStartsABranch() throws {
        let runner = ScriptedRunner()
        let app = try Fixtures.app(runner: runner)
        for (q, a) in [("first question", "first answer"), ("second question", "second answer")] {
            app.type(q)
            app.handle(.enter)
            runner.stream([a])
            runner.finish()
            app.drain()
        }
        app.handle(.escape)
        app.handle(.char("["))
        app.handle(.char("["))
        app.handle(.char("["))  // turn 2 of 4: "first answer"; [ again: turn 1
        app.handle(.char("["))
        XCTAssertEqual(app.state.chat.selectedTurn, 0)
        app.handle(.char("e"))
        XCTAssertEqual(app.state.chat.input.text, "first question")
        XCTAssertEqual(app.state.chat.turns.count, 4, "nothing changes until the edited turn is sent")
        XCTAssertTrue(app.frame().text.contains("edit turn 1 ›"))
        app.handle(.ctrl("u"))
        app.type("a different first question")
        app.handle(.enter)
        runner.stream(["another answer"])
        runner.finish()
        app.drain()
        XCTAssertEqual(app.state.chat.turns.map(\.content), ["a different first question", "another answer"])
        XCTAssertEqual(app.state.chat.branches.count, 1)
        app.handle(.escape)
        app.handle(.char("b"))
        XCTAssertEqual(app.state.chat.turns.count, 4, "the old branch is kept whole")
        app.handle(.char("r"))
        guard case .chat(let messages, _, _) = runner.lastJob.technique else { return XCTFail() }
        XCTAssertEqual(messages.last?.content, "second question", "regenerate re-asks the last user turn")
    }

    func testChatMultiSampleOfTheReply() throws {
        let runner = ScriptedRunner()
        let app = try Fixtures.app(runner: runner)
        app.type("Why do you add chocolate?")
        app.handle(.enter)
        runner.stream(["Because it is tasty."])
        runner.finish()
        app.drain()
        app.handle(.escape)
        app.handle(.char("S"))
        XCTAssertEqual(runner.lastJob.samples, 8)
        runner.stream(["reward models like it"], sample: 3)
        app.drain()
        app.run(command: "pattern reward")
        XCTAssertTrue(app.frame().text.contains("1/8 match /reward/"))
    }
}
