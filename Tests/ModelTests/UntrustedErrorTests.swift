import XCTest
import Foundation
import Model

/// Errors quote at most a few hundred characters of any untrusted string (issue 14): one bit flip
/// that makes a GGUF key 16 MB long must not become a 40 MB error line or a long stall.
final class UntrustedErrorTests: XCTestCase {
    private static let hugeKey = String(repeating: "k", count: 16 << 20)

    private func gguffError(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try GGUFFile(bytes: bytes)
            XCTFail("parsed", file: file, line: line)
            return ""
        } catch {
            return "\(error)"
        }
    }

    private func assertShort(_ message: String, mentions needle: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertLessThan(message.utf8.count, 1024, "error line of \(message.utf8.count) bytes", file: file, line: line)
        XCTAssertTrue(message.contains(needle), "\(message.prefix(400))", file: file, line: line)
        XCTAssertTrue(message.contains("bytes cut]"), "no cut marker: \(message.prefix(400))", file: file, line: line)
    }

    func testExcerptKeepsShortTextAndCutsLongText() {
        XCTAssertEqual(UntrustedText.excerpt("short"), "short")
        let exact = String(repeating: "a", count: 200)
        XCTAssertEqual(UntrustedText.excerpt(exact), exact)
        let long = String(repeating: "é", count: 1000)  // 2 bytes each
        let cut = UntrustedText.excerpt(long)
        XCTAssertEqual(cut, String(repeating: "é", count: 200) + "…[+1600 bytes cut]")
        XCTAssertEqual(UntrustedText.excerpt("abcdef", limit: 2), "ab…[+4 bytes cut]")
        // One "character" of a million combining marks is cut by scalars.
        let zalgo = "a" + String(repeating: "\u{301}", count: 1_000_000)
        XCTAssertLessThan(UntrustedText.excerpt(zalgo).utf8.count, 500)
        XCTAssertEqual(UntrustedText.excerpt(describing: [1, 2, 3]), "[1, 2, 3]")
    }

    func testGGUFDuplicateSixteenMegabyteKeyGivesAShortError() {
        var b = GGUFBuilder()
        b.add(Self.hugeKey, .u32(1))
        b.add(Self.hugeKey, .u32(2))
        assertShort(gguffError(b.build().bytes), mentions: "duplicate metadata key 'kkkk")
    }

    func testGGUFSixteenMegabyteKeyOfUnknownTypeGivesAShortError() {
        var b = GGUFBuilder()
        b.add(Self.hugeKey, .raw(type: 99, payload: [0, 0, 0, 0]))
        assertShort(gguffError(b.build().bytes), mentions: "unknown value type 99")
    }

    func testGGUFSixteenMegabyteKeyOverALongArrayFailsFastAndShort() {
        // Every element's read used to build "value of '<the key>'" eagerly: 16 MB copied per
        // element. Now the description is built only for the error.
        var b = GGUFBuilder()
        b.add(Self.hugeKey, .strings((0..<5000).map { "token\($0)" }))
        let bytes = b.build().bytes
        // Header 24 bytes, key 8 + 16 MiB, type 4, array header 12, then the elements: cut inside them.
        let cut = 24 + 8 + Self.hugeKey.utf8.count + 4 + 12 + 50_000
        XCTAssertLessThan(cut, bytes.count)
        assertShort(gguffError(Array(bytes.prefix(cut))), mentions: "value of 'kkkk")
    }

    func testGGUFValueSummaryIsShortForHugeStrings() {
        XCTAssertEqual(GGUFValue.string("abc").summary, "abc")
        let summary = GGUFValue.string("a" + String(repeating: "\u{301}", count: 1_000_000)).summary
        XCTAssertLessThan(summary.utf8.count, 300)
        XCTAssertTrue(summary.hasSuffix("..."))
    }

    func testSafeTensorsHugeTensorNameAndDTypeGiveAShortError() throws {
        let name = String(repeating: "n", count: 1 << 20)
        let dtype = String(repeating: "D", count: 1 << 20)
        let header = "{\"\(name)\": {\"dtype\": \"\(dtype)\", \"shape\": [1], \"data_offsets\": [0, 4]}}"
        var data = Data()
        var length = UInt64(header.utf8.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(contentsOf: Array(header.utf8))
        data.append(contentsOf: [0, 0, 0, 0])
        XCTAssertThrowsError(try SafeTensorsFile(data: data)) { error in
            self.assertShort("\(error)", mentions: "unknown dtype 'DDDD")
        }
    }

    func testChatTemplateWithAHugeIdentifierGivesAShortError() {
        let source = "{{ " + String(repeating: "v", count: 1 << 20) + "() }}"
        do {
            let t = try ChatTemplate(source: source)
            _ = try t.render(messages: [], addGenerationPrompt: true)
            XCTFail("rendered")
        } catch {
            assertShort("\(error)", mentions: "is undefined and cannot be called")
        }
    }
}
