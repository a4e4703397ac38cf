import Workbench
import XCTest

final class TerminalTextTests: XCTestCase {
    func testEscapeSequencesNeverPassThrough() {
        let hostile = "ok\u{1B}]52;c;SGVsbG8=\u{07}\u{1B}[2J\r\u{9B}31m\u{7F}\u{202E}evil"
        let safe = TerminalText.sanitize(hostile)
        for scalar in safe.unicodeScalars {
            let v = scalar.value
            XCTAssertFalse(v < 0x20 && v != 0x0A && v != 0x09, "C0 control U+\(String(v, radix: 16)) passed")
            XCTAssertFalse((0x7F...0x9F).contains(v), "DEL/C1 U+\(String(v, radix: 16)) passed")
            XCTAssertFalse((0x202A...0x202E).contains(v), "bidi override passed")
        }
        XCTAssertTrue(safe.hasPrefix("ok␛]52;c;SGVsbG8=␇␛[2J␍<U+9B>31m␡<U+202E>evil"), safe)
    }

    func testPrintableTextNewlinesTabsAndWideCharactersAreKept() {
        let text = "line 1\n\tZürich 北京 😀 e\u{301}"
        XCTAssertEqual(TerminalText.sanitize(text), text)
    }
}
