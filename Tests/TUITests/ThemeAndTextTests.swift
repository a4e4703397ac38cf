import Foundation
import TUI
import Workbench
import XCTest

final class ThemeTests: XCTestCase {
    /// The themes ship inside the binary (scripts/embed-themes.py): the embedded text is the files'.
    func testBuiltInThemesAreTheShippedFiles() throws {
        let dir = Fixtures.root.appendingPathComponent("themes")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".theme") }
        XCTAssertEqual(Set(files.map { String($0.dropLast(6)) }), Set(Theme.builtIn.keys), "rerun scripts/embed-themes.py")
        for file in files {
            var text = try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
            while text.hasSuffix("\n") { text.removeLast() }
            XCTAssertEqual(Theme.builtIn[String(file.dropLast(6))], text, "\(file): rerun scripts/embed-themes.py")
        }
    }

    /// Outside a checkout (no themes directory to be found), the shipped themes still load by name
    /// and are listed; a theme file in the directory wins over the built-in one of its name.
    func testThemesLoadByNameWithoutAThemesDirectory() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("no-themes-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty); unsetenv("WORKBENCH_THEMES") }
        setenv("WORKBENCH_THEMES", empty.path, 1)
        XCTAssertEqual(Theme.available(), ["dark", "high-contrast", "light"])
        XCTAssertEqual(try Theme.load(named: "dark").name, "dark")
        XCTAssertThrowsError(try Theme.load(named: "nope")) { error in
            XCTAssertTrue("\(error)".contains("available: dark, high-contrast, light"), "\(error)")
        }
        try "name = mine\nnormal = 1 2\n".write(to: empty.appendingPathComponent("dark.theme"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try Theme.load(named: "dark").name, "mine")
    }

    func testShippedThemesParseAndDefineEveryRoleAtEveryDepth() throws {
        let dir = Fixtures.root.appendingPathComponent("themes")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".theme") }
        XCTAssertTrue(Set(names).isSuperset(of: ["dark.theme", "light.theme", "high-contrast.theme"]))
        for name in names {
            let theme = try Theme.load(from: dir.appendingPathComponent(name))
            for role in Role.allCases {
                for depth in [ColorDepth.full256, .sixteen, .eight] {
                    let look = theme.look(role, depth: depth)
                    for c in [look.foreground, look.background] {
                        if case .index(let i) = c {
                            XCTAssertLessThan(i, depth == .full256 ? 256 : depth == .sixteen ? 16 : 8, "\(name) \(role) \(depth)")
                        }
                    }
                }
            }
        }
    }

    func testSixteenColourFallbackAndNoColor() throws {
        let theme = try Theme(name: "t", source: "normal = 252 235\naccent = 81 235 bold\naccent.16 = bright-cyan black bold\nselection = 235 196")
        XCTAssertEqual(theme.look(.accent, depth: .sixteen).foreground, .index(14), "the .16 line wins")
        // No .16 line: the nearest basic colour (196 is pure red; 235 a near-black grey).
        XCTAssertEqual(theme.look(.selection, depth: .sixteen).background, .index(9))
        XCTAssertEqual(theme.look(.selection, depth: .sixteen).foreground, .index(0))
        XCTAssertEqual(theme.look(.accent, depth: .eight).foreground, .index(6), "bright becomes bold normal")
        XCTAssertTrue(theme.look(.accent, depth: .eight).bold)
        let mono = theme.look(.selection, depth: .none)
        XCTAssertEqual(mono.foreground, .terminalDefault)
        XCTAssertTrue(mono.reverse, "without colour a selection still stands out")
        XCTAssertEqual(ColorDepth.from(colors: 256, noColor: true), ColorDepth.none)
        XCTAssertEqual(ColorDepth.from(colors: 256, noColor: false), .full256)
        XCTAssertEqual(ColorDepth.from(colors: 8, noColor: false), .eight)
    }

    func testMalformedThemesGetLineNumbers() {
        for (source, fragment) in [("normal = 1", "two colours"), ("normal = 1 2\nbogus = 1 2", "unknown role 'bogus'"),
                                   ("normal = 1 2 blink", "unknown attribute"), ("accent = 1 2", "must define `normal`"),
                                   ("normal = 300 2", "two colours"), ("just words", "expected")] {
            XCTAssertThrowsError(try Theme(name: "x", source: source, file: "x.theme")) { error in
                XCTAssertTrue("\(error)".contains(fragment), "\(error)")
            }
        }
        XCTAssertThrowsError(try Theme.load(named: "../../etc/passwd"))
    }
}

final class CellTextTests: XCTestCase {
    func testWidths() {
        XCTAssertEqual(CellWidth.of("a" as Character), 1)
        XCTAssertEqual(CellWidth.of("中" as Character), 2)
        XCTAssertEqual(CellWidth.of("🙂" as Character), 2)
        XCTAssertEqual(CellWidth.of("e\u{301}" as Character), 1)
        XCTAssertEqual(CellWidth.of("\u{301}" as Unicode.Scalar), 0)
        XCTAssertEqual(CellWidth.of("❤\u{FE0F}" as Character), 2, "emoji presentation selector")
        XCTAssertEqual(CellWidth.of("한국어"), 6)
    }

    func testWrapNeverExceedsTheWidth() {
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("ab cd 中文 🙂 e\u{301} x\u{1b}y\n\t")
        for _ in 0..<300 {
            let text = String((0..<Int.random(in: 0...120, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
            let width = Int.random(in: 1...30, using: &rng)
            for line in Wrap.lines(text, width: width) {
                XCTAssertLessThanOrEqual(CellWidth.of(line.plain), max(width, 2), "\(text.debugDescription) at \(width)")
                XCTAssertFalse(line.plain.contains("\u{1b}"))
            }
            // Nothing is lost: the wrapped rows hold every visible character.
            let kept = Wrap.lines(text, width: width).map(\.plain).joined().filter { $0 != " " }
            let expected = TerminalText.sanitize(text).filter { $0 != " " && $0 != "\n" && $0 != "\t" }
            XCTAssertEqual(String(kept), String(expected))
        }
    }

    func testWrapPrefersSpaces() {
        XCTAssertEqual(Wrap.lines("hello brave new world", width: 11).map(\.plain), ["hello brave", "new world"])
        XCTAssertEqual(Wrap.lines("abcdefghij", width: 4).map(\.plain), ["abcd", "efgh", "ij"])
    }

    func testTextFieldEditing() {
        var f = TextField("hello world")
        XCTAssertTrue(f.handle(.ctrl("w")))
        XCTAssertEqual(f.text, "hello ")
        _ = f.handle(.home)
        _ = f.handle(.char(">"))
        XCTAssertEqual(f.text, ">hello ")
        _ = f.handle(.end)
        _ = f.handle(.backspace)
        XCTAssertEqual(f.text, ">hello")
        _ = f.handle(.left)
        _ = f.handle(.ctrl("k"))
        XCTAssertEqual(f.text, ">hell")
        _ = f.handle(.ctrl("u"))
        XCTAssertEqual(f.text, "")
        XCTAssertFalse(f.handle(.up))
    }

    func testKeyDecoding() {
        XCTAssertEqual(Terminal.decode(13), .enter)
        XCTAssertEqual(Terminal.decode(3), .ctrl("c"))
        XCTAssertEqual(Terminal.decode(127), .backspace)
        XCTAssertEqual(Terminal.decode(0x4E2D), .char("中"))
    }
}
