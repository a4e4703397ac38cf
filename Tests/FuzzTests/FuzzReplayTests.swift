import Foundation
import FuzzTargets
import XCTest

// Every fuzz target's seeds (fuzz/seeds/TARGET) and every crash fuzzing found and we fixed
// (fuzz/crashes/TARGET) run through the same function libFuzzer calls. A crash here is the bug
// coming back; a finding is an invariant of the target failing (printed with its input's name).
final class FuzzReplayTests: XCTestCase {
    private func inputs(_ dir: URL) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { !$0.hasPrefix(".") && $0 != "README.md" }.sorted().map { dir.appendingPathComponent($0) }
    }

    private func replay(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let target = try XCTUnwrap(FuzzTargets.named(name), file: file, line: line)
        let seeds = inputs(FuzzTargets.seedDirectory(name))
        XCTAssertGreaterThanOrEqual(seeds.count, 3, "fuzz/seeds/\(name) should hold real seeds", file: file, line: line)
        for url in seeds + inputs(FuzzTargets.crashDirectory(name)) {
            let bytes = try [UInt8](Data(contentsOf: url))
            do { try target(bytes) } catch {
                XCTFail("\(name): \(url.lastPathComponent): \(error)", file: file, line: line)
            }
        }
    }

    func testEveryTargetHasATest() {
        let tested: Set<String> = ["gguf", "model", "tokenizer-bpe", "tokenizer-spm", "template", "safetensors",
                                   "sae-config", "peft-config", "theme", "session", "corpus"]
        XCTAssertEqual(Set(FuzzTargets.all.map(\.name)), tested)
    }

    func testGGUF() throws { try replay("gguf") }
    func testModelLoad() throws { try replay("model") }
    func testTokenizerBPE() throws { try replay("tokenizer-bpe") }
    func testTokenizerSPM() throws { try replay("tokenizer-spm") }
    func testTemplate() throws { try replay("template") }
    func testSafeTensors() throws { try replay("safetensors") }
    func testSAEConfig() throws { try replay("sae-config") }
    func testPEFTConfig() throws { try replay("peft-config") }
    func testTheme() throws { try replay("theme") }
    func testSession() throws { try replay("session") }
    func testCorpus() throws { try replay("corpus") }

    /// A finding quotes fuzzed text losslessly and terminal-safe: only printable ASCII stays as is.
    func testFindingsQuoteTextSafely() {
        XCTAssertEqual(FuzzFinding.quote("a\u{1B}[31m\u{9B}\u{202E}\"\\é"), #""a\u{1B}[31m\u{9B}\u{202E}\"\\\u{E9}""#)
        let long = FuzzFinding.quote(String(repeating: "x", count: 1000))
        XCTAssertTrue(long.hasSuffix("…(1000 scalars)\""), long)
        XCTAssertLessThan(long.count, 340)
    }

    /// The round-trip check fails where it should: SentencePiece decodes U+2581 as a space, so the
    /// exact form of the check (which the SPM target uses only for text without it) must report it.
    func testRoundTripCheckReportsADifference() {
        XCTAssertThrowsError(try FuzzTargets.roundTrip(FuzzTargets.spm, "a\u{2581}b", exact: true))
        XCTAssertNoThrow(try FuzzTargets.roundTrip(FuzzTargets.spm, "a\u{2581}b", exact: false))
        XCTAssertNoThrow(try FuzzTargets.roundTrip(FuzzTargets.bpe, "a\u{2581}b <|im_start|>", exact: true))
    }
}
