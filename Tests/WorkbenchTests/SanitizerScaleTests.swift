import Foundation
import Workbench
import XCTest

/// The sanitizer on big inputs (issue 14): a model name of 400k U+0085 took over 120 s. These
/// check the output of big inputs against a reference written another way; the time is only
/// printed (`workbench bench --sanitizer` prints it too), never asserted.
final class SanitizerScaleTests: XCTestCase {
    /// The sanitizer's rules, written scalar by scalar into a String.
    private func reference(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            let v = scalar.value
            switch v {
            case 0x0A, 0x09: out.unicodeScalars.append(scalar)
            case 0x00...0x1F: out.unicodeScalars.append(Unicode.Scalar(0x2400 + v)!)
            case 0x7F: out += "␡"
            case 0x80...0x9F, 0x202A...0x202E, 0x2066...0x2069: out += "<U+\(String(v, radix: 16, uppercase: true))>"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    func testTwoHundredThousandC1ControlsSanitiseExactly() {
        let n = 200_000
        let text = String(repeating: "\u{85}", count: n)
        let start = Date()
        let safe = TerminalText.sanitize(text)
        print("sanitize: \(n) x U+0085 in \(String(format: "%.3f", Date().timeIntervalSince(start))) s")
        XCTAssertEqual(safe, String(repeating: "<U+85>", count: n))
    }

    func testBigMixedTextMatchesTheReference() {
        // Every class of scalar the sanitizer treats differently, plus multi-byte text.
        let pieces = ["a", "\n", "\t", "\u{1B}", "\u{00}", "\u{7F}", "\u{80}", "\u{9F}", "\u{9B}", "\u{202A}", "\u{202E}",
                      "\u{2066}", "\u{2069}", "\u{2067}", "é", "北", "😀", "e\u{301}", "\u{200F}", "\u{2028}", "\u{A0}"]
        var text = ""
        var state: UInt64 = 0x9E3779B97F4A7C15
        for _ in 0..<100_000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            text += pieces[Int(state >> 33) % pieces.count]
        }
        let safe = TerminalText.sanitize(text)
        XCTAssertEqual(safe, reference(text))
        for scalar in safe.unicodeScalars {
            let v = scalar.value
            XCTAssertFalse((v < 0x20 && v != 0x0A && v != 0x09) || (0x7F...0x9F).contains(v)
                           || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v), "U+\(String(v, radix: 16)) passed")
        }
    }

    func testEveryScalarBoundaryOfTheUTF8Encoder() {
        let scalars: [UInt32] = [0x20, 0x7E, 0xA0, 0x7FF, 0x800, 0xFFFD, 0xFFFF, 0x10000, 0x10FFFF, 0x2065, 0x206A, 0x2029]
        let text = String(String.UnicodeScalarView(scalars.map { Unicode.Scalar($0)! }))
        XCTAssertEqual(TerminalText.sanitize(text), reference(text))
    }
}
