import Foundation
import TestSupport
import Workbench
import XCTest

/// JSON output escapes C1 controls, DEL and bidi / line-separator code points as \u escapes
/// (issue 14): the text parses back exactly and the raw bytes hold none of them.
final class JSONEscapeTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("json-escape-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// Every code point that must not appear raw, between ordinary text (and C0 for good measure).
    static let hostile = "csi \u{9B}31m nel \u{85} c1 \u{80}\u{9F} rlo \u{202E}abc\u{202C} lre \u{202A}\u{202B}\u{202D} "
        + "isolates \u{2066}\u{2067}\u{2068}\u{2069} marks \u{200E}\u{200F} seps \u{2028}\u{2029} del \u{7F} esc \u{1B}[0m "
        + "kept é 北 🧪 \u{A0} \u{2030} \u{2065}"

    static func forbidden(_ text: String) -> [UInt32] {
        text.unicodeScalars.map(\.value).filter { v in
            v < 0x20 && v != 0x0A && v != 0x09 || v == 0x7F || (0x80...0x9F).contains(v) || v == 0x200E || v == 0x200F
                || v == 0x2028 || v == 0x2029 || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v)
        }
    }

    func testNotebookExportEscapesAndRoundTrips() throws {
        let session = dir.appendingPathComponent("s.workbench").path
        let add = try Binary.run(try Binary.path(), ["notebook", "add", "--session", session, Self.hostile])
        XCTAssertEqual(add.status, 0, add.stderr)
        let r = try Binary.run(try Binary.path(), ["notebook", "export", "--session", session, "--format", "json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(Self.forbidden(r.stdout), [], "raw code points in the export")
        XCTAssertTrue(r.stdout.contains("\\u009b31m"), r.stdout)
        XCTAssertTrue(r.stdout.contains("\\u202e"), r.stdout)
        let export = try Notebook.exportDecoder().decode(Notebook.Export.self, from: Data(r.stdout.utf8))
        XCTAssertEqual(export.entries.map(\.text), [Self.hostile])
    }

    func testPrintJSONEscapesAndRoundTrips() throws {
        // `data search --json` echoes the query through printJSON.
        let corpus = dir.appendingPathComponent("corpus")
        try FileManager.default.createDirectory(at: corpus, withIntermediateDirectories: true)
        let doc = try JSONSerialization.data(withJSONObject: ["id": "doc-1", "source": "synthetic-documents", "title": "t",
                                                              "text": "reward model"], options: [.sortedKeys])
        try (doc + Data("\n".utf8)).write(to: corpus.appendingPathComponent("documents.jsonl"))
        // Each code point inside a word (the query parser refuses a term with no letters).
        let points: [UInt32] = [0x9B, 0x85, 0x80, 0x9F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069,
                                0x200E, 0x200F, 0x2028, 0x2029, 0x7F]
        let query = "reward " + points.map { "x" + String(Unicode.Scalar($0)!) + "y" }.joined(separator: " ")
        let r = try Binary.run(try Binary.path(), ["data", "search", "--corpus", corpus.path, "--json", query])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(Self.forbidden(r.stdout), [], "raw code points in printJSON output")
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["query"] as? String, query)
    }

    func testTheRewriteIsLosslessAndLeavesOtherTextAlone() throws {
        let values = [Self.hostile, "plain", "", "\u{C2}\u{A0}\u{E2}\u{80}\u{A7}", String(repeating: "\u{85}\u{2029}x", count: 10_000)]
        let data = try JSONEncoder().encode(values)
        let escaped = TerminalText.escapingInvisibleControls(inJSON: data)
        XCTAssertEqual(Self.forbidden(String(decoding: escaped, as: UTF8.self)), [])
        XCTAssertEqual(try JSONDecoder().decode([String].self, from: escaped), values)
        let ascii = try JSONEncoder().encode(["nothing to do"])
        XCTAssertEqual(TerminalText.escapingInvisibleControls(inJSON: ascii), ascii)
    }
}
