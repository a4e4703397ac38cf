import XCTest
import TUI

/// Odd theme lines (issue 14): `. = 1 2` trapped (index out of range). Every odd line must give an
/// error naming the file and the line, never a trap.
final class ThemeParserTests: XCTestCase {
    private func error(_ source: String, file: StaticString = #filePath, line: UInt = #line) -> Theme.ParseError? {
        do {
            _ = try Theme(name: "x", source: source, file: "odd.theme")
            XCTFail("parsed: \(source.debugDescription)", file: file, line: line)
            return nil
        } catch let e as Theme.ParseError {
            return e
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
            return nil
        }
    }

    /// `bad` on line 2, after a valid `normal` line.
    private func assertLocated(_ bad: String, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let e = error("normal = 1 2\n" + bad + "\n", file: file, line: line) else { return }
        XCTAssertEqual(e.file, "odd.theme", file: file, line: line)
        XCTAssertEqual(e.line, 2, "\(e)", file: file, line: line)
        XCTAssertTrue(e.description.hasPrefix("odd.theme:2: "), e.description, file: file, line: line)
        XCTAssertTrue(e.message.contains(fragment), "\(bad.debugDescription): \(e.message)", file: file, line: line)
        XCTAssertLessThan(e.description.utf8.count, 1000, file: file, line: line)
    }

    func testDotAloneBeforeEqualsIsAnErrorNotATrap() {
        assertLocated(". = 1 2", "role before `.`")
        assertLocated(".. = 1 2", "role before `.`")
        assertLocated(".16 = 1 2", "role before `.`")
        assertLocated("normal. = 1 2", "only ROLE or ROLE.16")
        assertLocated("normal.16.16 = 1 2", "only ROLE or ROLE.16")
        assertLocated("normal.8 = 1 2", "only ROLE or ROLE.16")
    }

    func testEmptyRoleAndOnlyEquals() {
        assertLocated("= 1 2", "role before `=`")
        assertLocated("=", "role before `=`")
        assertLocated("  =  ", "role before `=`")
        assertLocated("==", "role before `=`")
        assertLocated("normal =", "two colours")
        assertLocated("normal = = 1 2", "two colours")
        assertLocated("name =", "name after")
    }

    func testRoleWithoutValue() {
        assertLocated("normal.16", "expected `ROLE = FG BG")
        assertLocated("accent", "expected `ROLE = FG BG")
    }

    func testHugeAndOddNumbers() {
        assertLocated("normal = 99999999999999999999999999 2", "two colours")
        assertLocated("normal = 1 -1", "two colours")
        assertLocated("normal = 256 1", "two colours")
        assertLocated("normal = 1 \(Int.max)", "two colours")
        assertLocated("normal = 0x10 1", "two colours")
    }

    func testNonASCII() {
        assertLocated("nörmal = 1 2", "unknown role 'nörmal'")
        assertLocated("normal = １ ２", "two colours")  // full-width digits
        assertLocated("normal\u{301} = 1 2", "unknown role")
        assertLocated("normal = 1 2 bōld", "unknown attribute 'bōld'")
        assertLocated("\u{202E}normal = 1 2", "unknown role")
        assertLocated("=\u{301} 1 2", "expected")
    }

    func testHugeRoleNameIsQuotedShort() {
        assertLocated(String(repeating: "r", count: 1_000_000) + " = 1 2", "bytes cut")
    }

    func testTabsCRLFAndCommentsStillParse() throws {
        let theme = try Theme(name: "t", source: "# comment\r\nnormal =\t1\t2 # trailing\r\naccent.16 = red black bold\r\n")
        XCTAssertEqual(theme.look(.normal, depth: .full256).foreground, .index(1))
        XCTAssertEqual(theme.look(.accent, depth: .sixteen).foreground, .index(1))
        XCTAssertTrue(theme.look(.accent, depth: .sixteen).bold)
    }

    func testFuzzedLinesNeverTrap() {
        // Every line made of up to four pieces from an alphabet of the parser's delimiters.
        let alphabet = ["normal", ".", "=", "16", " ", "1", "2", "#", "\t", "bold", "é", "\r\n", ""]
        var state: UInt64 = 42
        for _ in 0..<3000 {
            var line = ""
            for _ in 0..<4 {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                line += alphabet[Int(state >> 33) % alphabet.count]
            }
            do {
                _ = try Theme(name: "x", source: "normal = 1 2\n" + line, file: "fuzz.theme")
            } catch let e as Theme.ParseError {
                XCTAssertEqual(e.file, "fuzz.theme")
                XCTAssertGreaterThanOrEqual(e.line, 1, "\(line.debugDescription): \(e)")
            } catch {
                XCTFail("unexpected \(error)")
            }
        }
    }
}
