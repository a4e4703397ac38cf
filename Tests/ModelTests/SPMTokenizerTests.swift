import Foundation
import Model
import TestSupport
import XCTest

/// SentencePiece-style ("llama") tokenisation against llama.cpp on Gemma 3 270M's 262,144-token
/// vocabulary: Fixtures/tokenizer_gemma3.json, written by scripts/tokenizer_reference.py with
/// llama-cpp-python, holds for every text the ids of llama_tokenize (BOS on/off, special parsing
/// on/off) and the bytes of llama_detokenize, for the file as it is (add_space_prefix false) and for
/// a copy with add_space_prefix true.
final class SPMTokenizerTests: XCTestCase {
    static let gemmaFile = "gemma-3-270m-q4_k_m.gguf"
    static let gemmaSHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"

    nonisolated(unsafe) static var cachedGemma: Tokenizer?
    nonisolated(unsafe) static var cachedGemmaPrefixed: Tokenizer?
    nonisolated(unsafe) static var cachedFixture: Fixture?

    static var gemmaPath: String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent("models/\(gemmaFile)").path
    }

    static func gemmaGGUF() throws -> GGUFFile {
        guard FileManager.default.fileExists(atPath: gemmaPath) else {
            XCTFail("\(gemmaFile) missing at \(gemmaPath): run `make models` (scripts/fetch-model.sh)")
            throw XCTSkip("no Gemma 3 model")
        }
        return try GGUFFile(path: gemmaPath)
    }

    func gemma() throws -> Tokenizer {
        if let t = Self.cachedGemma { return t }
        let gguf = try Self.gemmaGGUF()
        let start = Date()
        let t = try Tokenizer(gguf: gguf)
        print("Gemma 3 Tokenizer(gguf:): \(Int(Date().timeIntervalSince(start) * 1000)) ms for \(t.vocabularySize) tokens")
        Self.cachedGemma = t
        return t
    }

    /// Gemma's vocabulary rebuilt as a metadata-only GGUF with add_space_prefix = true (the
    /// fixture's add_space_prefix_cases come from a copy of the file patched the same way).
    func gemmaPrefixed() throws -> Tokenizer {
        if let t = Self.cachedGemmaPrefixed { return t }
        let md = try Self.gemmaGGUF().metadata
        var g = TinyGGUF()
        g.kvs.append(("general.architecture", .string("gemma3")))
        g.kvs.append(("tokenizer.ggml.model", .string("llama")))
        g.kvs.append(("tokenizer.ggml.pre", .string("default")))
        g.kvs.append(("tokenizer.ggml.tokens", .strings(md["tokenizer.ggml.tokens"]!.array!.map { $0.string! })))
        g.kvs.append(("tokenizer.ggml.scores", .f32s(md["tokenizer.ggml.scores"]!.array!.map { Float($0.float!) })))
        g.kvs.append(("tokenizer.ggml.token_type", .i32s(md["tokenizer.ggml.token_type"]!.array!.map { Int32($0.int!) })))
        for key in ["bos_token_id", "eos_token_id", "unknown_token_id", "padding_token_id"] {
            g.kvs.append(("tokenizer.ggml.\(key)", .u32(UInt32(md["tokenizer.ggml.\(key)"]!.int!))))
        }
        g.kvs.append(("tokenizer.ggml.add_bos_token", .bool(true)))
        g.kvs.append(("tokenizer.ggml.add_eos_token", .bool(false)))
        g.kvs.append(("tokenizer.ggml.add_space_prefix", .bool(true)))
        let t = try Tokenizer(gguf: try g.file())
        XCTAssertTrue(t.addSpacePrefix)
        Self.cachedGemmaPrefixed = t
        return t
    }

    // MARK: - Fixture

    struct Case: Decodable {
        let name: String
        let text: String
        let ids_special: [Int32]
        let ids_special_bos: [Int32]
        let ids_plain: [Int32]
        let ids_plain_bos: [Int32]
        let detok_special_hex: String
        let detok_special_bos_hex: String
        let detok_plain_hex: String
        let detok_plain_bos_hex: String
        let round_trip_special: Bool
        let round_trip_plain: Bool
        let pieces_special_hex: [String]?
    }

    struct Fixture: Decodable {
        let sha256: String
        let vocab_size: Int
        let bos: Int32
        let eos: Int32
        let add_bos: Bool
        let bos_text: String
        let cases: [Case]
        let add_space_prefix_cases: [Case]
    }

    func fixture() throws -> Fixture {
        if let f = Self.cachedFixture { return f }
        guard let url = Bundle.module.url(forResource: "Fixtures/tokenizer_gemma3", withExtension: "json") else {
            XCTFail("fixture tokenizer_gemma3.json not found in the test bundle")
            throw XCTSkip("no fixture")
        }
        let f = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        XCTAssertEqual(f.sha256, Self.gemmaSHA256, "the fixture was made from another file")
        Self.cachedFixture = f
        return f
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Fails with the first differing position; true when equal.
    @discardableResult
    func same(_ what: String, _ c: Case, expected: [Int32], actual: [Int32], tokenizer t: Tokenizer,
              file: StaticString = #filePath, line: UInt = #line) -> Bool {
        if expected == actual { return true }
        let i = zip(expected, actual).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset ?? min(expected.count, actual.count)
        func around(_ ids: [Int32]) -> String {
            ids[max(0, i - 2) ..< min(ids.count, i + 4)].map { "\($0) \(t.tokenText($0).debugDescription)" }.joined(separator: ", ")
        }
        XCTFail("""
            \(c.name) (\(what)): ids differ at index \(i) of \(expected.count) expected / \(actual.count) actual
              text:     \(c.text.debugDescription)
              expected: …\(around(expected))…
              actual:   …\(around(actual))…
            """, file: file, line: line)
        return false
    }

    /// Every case: the four tokenisations and the four detokenisations.
    func checkCases(_ cases: [Case], _ t: Tokenizer, label: String) -> (ids: Int, detok: Int, total: Int) {
        var idsOK = 0, detokOK = 0
        for c in cases {
            let runs: [(String, [Int32], String, Bool, Bool)] = [
                ("special", c.ids_special, c.detok_special_hex, true, false),
                ("special+bos", c.ids_special_bos, c.detok_special_bos_hex, true, true),
                ("plain", c.ids_plain, c.detok_plain_hex, false, false),
                ("plain+bos", c.ids_plain_bos, c.detok_plain_bos_hex, false, true),
            ]
            for (what, expectedIDs, expectedHex, special, bos) in runs {
                let ids = t.encode(c.text, parseSpecial: special, addBOS: bos)
                if same("\(label) \(what)", c, expected: expectedIDs, actual: ids, tokenizer: t) { idsOK += 1 }
                // Detokenise llama.cpp's ids, so a tokenisation mismatch does not hide this check.
                let bytes = t.decodeBytes(expectedIDs, renderSpecial: special)
                if Self.hex(bytes) == expectedHex {
                    detokOK += 1
                } else {
                    XCTFail("\(c.name) (\(label) \(what)): detokenised \(Self.hex(bytes)), llama.cpp \(expectedHex)")
                }
            }
        }
        return (idsOK, detokOK, cases.count * 4)
    }

    // MARK: - Tests

    func testGemmaVocabularyLoads() throws {
        let t = try gemma()
        let f = try fixture()
        XCTAssertEqual(t.modelType, "llama")
        XCTAssertEqual(t.vocabularySize, f.vocab_size)
        XCTAssertEqual(t.bosID, f.bos)
        XCTAssertEqual(t.eosID, f.eos)
        XCTAssertEqual(t.addBOS, f.add_bos)
        XCTAssertFalse(t.addSpacePrefix, "Gemma 3's file sets add_space_prefix false")
        XCTAssertEqual(t.unknownID, 3)
        XCTAssertEqual(t.tokenText(f.bos), f.bos_text)
        XCTAssertEqual(t.id(of: "<start_of_turn>"), 105)
        XCTAssertEqual(t.id(of: "▁Hello"), 26352)
        XCTAssertTrue(t.isEndOfGeneration(106), "<end_of_turn> ends generation")
        XCTAssertTrue(t.isEndOfGeneration(1))
        // Canonically equivalent spellings are different tokens (byte-exact lookup).
        let nfc = "\u{09DF}", nfd = "\u{09AF}\u{09BC}"
        if let a = t.id(of: nfc), let b = t.id(of: nfd) { XCTAssertNotEqual(a, b) }
    }

    func testGemmaMatchesLlamaCpp() throws {
        let t = try gemma()
        let f = try fixture()
        XCTAssertGreaterThan(f.cases.count, 100)
        let r = checkCases(f.cases, t, label: "add_space_prefix false")
        print("Gemma 3 SPM vs llama.cpp: tokenize \(r.ids)/\(r.total), detokenize \(r.detok)/\(r.total) identical (\(f.cases.count) texts)")
    }

    func testGemmaWithSpacePrefixMatchesLlamaCpp() throws {
        let t = try gemmaPrefixed()
        let f = try fixture()
        XCTAssertGreaterThan(f.add_space_prefix_cases.count, 30)
        let r = checkCases(f.add_space_prefix_cases, t, label: "add_space_prefix true")
        print("Gemma 3 SPM (add_space_prefix true) vs llama.cpp: tokenize \(r.ids)/\(r.total), detokenize \(r.detok)/\(r.total) identical")
    }

    func testPiecesMatchLlamaCpp() throws {
        let t = try gemma()
        let f = try fixture()
        var checked = 0
        for c in f.cases {
            guard let pieces = c.pieces_special_hex else { continue }
            XCTAssertEqual(pieces.count, c.ids_special.count)
            for (id, hex) in zip(c.ids_special, pieces) {
                XCTAssertEqual(Self.hex(t.piece(id, renderSpecial: true)), hex, "\(c.name): piece of \(id) \(t.tokenText(id).debugDescription)")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 500)
        // Byte tokens give their byte; control tokens nothing unless special is asked for.
        XCTAssertEqual(t.piece(t.id(of: "<0x0A>")!, renderSpecial: false), [0x0A])
        XCTAssertEqual(t.piece(t.id(of: "<0xFF>")!, renderSpecial: false), [0xFF])
        XCTAssertEqual(t.piece(2, renderSpecial: false), [])
        XCTAssertEqual(t.piece(2, renderSpecial: true), Array("<bos>".utf8))
        XCTAssertEqual(t.piece(t.id(of: "▁Hello")!, renderSpecial: false), Array(" Hello".utf8))
    }

    func testRoundTripWhereLlamaCppRoundTrips() throws {
        let f = try fixture()
        for (t, cases) in [(try gemma(), f.cases), (try gemmaPrefixed(), f.add_space_prefix_cases)] {
            var trips = 0
            for c in cases {
                if c.round_trip_special {
                    XCTAssertEqual(t.decode(t.encode(c.text, parseSpecial: true, addBOS: false), renderSpecial: true), c.text, c.name)
                    trips += 1
                }
                if c.round_trip_plain {
                    XCTAssertEqual(t.decode(t.encode(c.text, parseSpecial: false, addBOS: false)), c.text, c.name)
                    trips += 1
                }
            }
            XCTAssertGreaterThan(trips, 0)
            print("round trips (add_space_prefix \(t.addSpacePrefix)): \(trips) of \(cases.count * 2)")
        }
    }

    func testStreamingDecoderMatchesDecode() throws {
        let t = try gemma()
        let f = try fixture()
        for c in f.cases {
            var dec = StreamingDecoder(tokenizer: t, renderSpecial: true)
            var streamed = ""
            for id in c.ids_special { streamed += dec.append(id) }
            streamed += dec.flush()
            XCTAssertEqual(streamed, t.decode(c.ids_special, renderSpecial: true), c.name)
        }
    }

    // MARK: - BOS once

    func testBOSOnceOnGemma() throws {
        let t = try gemma()
        XCTAssertTrue(t.addBOS)
        let bos = try XCTUnwrap(t.bosID)
        let turns = "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n"
        let body = t.encode(turns, parseSpecial: true, addBOS: false)
        // A rendered prompt without BOS gets one; with BOS (Gemma's template writes "<bos>") keeps one.
        XCTAssertEqual(t.encodePrompt(turns), [bos] + body)
        XCTAssertEqual(t.encodePrompt("<bos>" + turns), [bos] + body)
        XCTAssertEqual(t.encodePrompt("<bos>" + turns).filter { $0 == bos }.count, 1)
        // Plain encode keeps llama.cpp's behaviour: a second BOS.
        XCTAssertEqual(t.encode("<bos>" + turns), [bos, bos] + body)
        XCTAssertEqual(t.encodePrompt(""), [bos])
        XCTAssertEqual(t.encodePrompt("<bos>"), [bos])
        // Anything before the BOS text means the text does not begin with BOS.
        XCTAssertEqual(t.encodePrompt(" <bos>x").first, bos)
        XCTAssertEqual(t.encodePrompt(" <bos>x").filter { $0 == bos }.count, 2)
        XCTAssertTrue(t.promptNeedsBOS(body))
        XCTAssertFalse(t.promptNeedsBOS([bos] + body))
    }

    func testBOSOnceOnSmolLM2() throws {
        let t = try Tokenizer(gguf: try DefaultModel.file())
        XCTAssertFalse(t.addBOS, "SmolLM2's file sets add_bos_token false")
        let prompt = "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        XCTAssertEqual(t.encodePrompt(prompt), t.encode(prompt, parseSpecial: true, addBOS: false))
        XCTAssertEqual(t.encodePrompt(prompt), t.encode(prompt))
        XCTAssertEqual(t.encodePrompt(""), [])
        XCTAssertFalse(t.promptNeedsBOS([]))
        XCTAssertFalse(t.addSpacePrefix)
    }

    // MARK: - Small vocabularies

    /// A hand-made SPM vocabulary: merges by score (highest first, leftmost on ties), byte fallback,
    /// the unknown token where no byte token exists, and the space prefix after specials.
    func testTinyVocabularyRules() throws {
        var g = TinyGGUF()
        let tokens = ["<unk>", "<s>", "</s>", "<0x41>", "<0xC3>", "<0xA9>", "▁", "a", "b", "c", "ab", "bc", "abc", "▁a", "<ctl>", "[u]"]
        let scores: [Float] = [0, 0, 0, 0, 0, 0, -1, -2, -2, -2, -5, -3, -1, -4, 0, 0]
        let types: [Int32] = [2, 3, 3, 6, 6, 6, 1, 1, 1, 1, 1, 1, 1, 1, 3, 4]
        g.kvs = [("tokenizer.ggml.model", .string("llama")), ("tokenizer.ggml.tokens", .strings(tokens)),
                 ("tokenizer.ggml.scores", .f32s(scores)), ("tokenizer.ggml.token_type", .i32s(types))]
        let t = try Tokenizer(gguf: try g.file())
        XCTAssertEqual(t.bosID, 1)
        XCTAssertEqual(t.eosID, 2)
        XCTAssertEqual(t.unknownID, 0)
        XCTAssertTrue(t.addBOS)
        XCTAssertTrue(t.addSpacePrefix)
        func ids(_ s: String, special: Bool = true, bos: Bool = false) -> [Int32] { t.encode(s, parseSpecial: special, addBOS: bos) }
        // "▁abc": bigrams ▁a(-4), ab(-5), bc(-3) -> bc first, then "abc"? no: a+bc = "abc"(-1) and ▁+a = "▁a"(-4):
        // abc wins, then "▁"+"abc" is not a token: [▁, abc].
        XCTAssertEqual(ids("abc"), [6, 12])
        XCTAssertEqual(ids("abc", bos: true), [1, 6, 12])
        // "ab": ▁a(-4) beats ab(-5): [▁a, b].
        XCTAssertEqual(ids("ab"), [13, 8])
        // Not in the vocabulary: "A" has a byte token, "é" has two, "Z" has none (unknown).
        XCTAssertEqual(ids("A"), [6, 3])
        XCTAssertEqual(ids("é"), [6, 4, 5])
        XCTAssertEqual(ids("Z"), [6, 0])
        // Specials: control only when parsed, user-defined always; a space prefix after each.
        XCTAssertEqual(ids("<ctl>a"), [14, 13])
        XCTAssertEqual(ids("[u]a", special: false), [15, 13])
        XCTAssertEqual(ids(""), [])
        XCTAssertEqual(ids("", bos: true), [1])
        // Detokenise: the first token's leading space goes; later ones stay; control hidden.
        XCTAssertEqual(t.decode([6, 12]), "abc")
        XCTAssertEqual(t.decode([1, 6, 12]), " abc")
        XCTAssertEqual(t.decode([1, 6, 12], renderSpecial: true), "<s> abc")
        XCTAssertEqual(t.decode([13, 6, 4, 5]), "a é")
    }
}
