import Foundation
import Model
import TestSupport
import XCTest

/// Builds a GGUF v3 image in memory (no tensors) for tokenizer tests.
struct TinyGGUF {
    enum Value {
        case string(String)
        case u32(UInt32)
        case bool(Bool)
        case strings([String])
        case i32s([Int32])
        case f32s([Float])
    }

    var kvs: [(String, Value)] = []

    private static func put<T: FixedWidthInteger>(_ v: T, _ out: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
    }

    private static func putString(_ s: String, _ out: inout [UInt8]) {
        put(UInt64(s.utf8.count), &out)
        out.append(contentsOf: Array(s.utf8))
    }

    var bytes: [UInt8] {
        var out = [UInt8]()
        out.append(contentsOf: Array("GGUF".utf8))
        Self.put(UInt32(3), &out)
        Self.put(UInt64(0), &out)
        Self.put(UInt64(kvs.count), &out)
        for (key, value) in kvs {
            Self.putString(key, &out)
            switch value {
            case .string(let s):
                Self.put(UInt32(8), &out); Self.putString(s, &out)
            case .u32(let v):
                Self.put(UInt32(4), &out); Self.put(v, &out)
            case .bool(let b):
                Self.put(UInt32(7), &out); out.append(b ? 1 : 0)
            case .strings(let a):
                Self.put(UInt32(9), &out); Self.put(UInt32(8), &out); Self.put(UInt64(a.count), &out)
                for s in a { Self.putString(s, &out) }
            case .i32s(let a):
                Self.put(UInt32(9), &out); Self.put(UInt32(5), &out); Self.put(UInt64(a.count), &out)
                for v in a { Self.put(v, &out) }
            case .f32s(let a):
                Self.put(UInt32(9), &out); Self.put(UInt32(6), &out); Self.put(UInt64(a.count), &out)
                for v in a { Self.put(v.bitPattern, &out) }
            }
        }
        return out
    }

    func file() throws -> GGUFFile { try GGUFFile(bytes: bytes) }
}

/// GPT-2 byte -> stand-in character, for building byte-level vocabularies in tests.
func byteLevelChar(_ b: UInt8) -> Character {
    let direct = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
    if direct { return Character(Unicode.Scalar(b)) }
    var n: UInt32 = 0
    for x in 0..<Int(b) {
        let d = (0x21...0x7E).contains(x) || (0xA1...0xAC).contains(x) || (0xAE...0xFF).contains(x)
        if !d { n += 1 }
    }
    return Character(Unicode.Scalar(256 + n)!)
}

final class TokenizerTests: XCTestCase {
    nonisolated(unsafe) static var cached: Tokenizer?

    func tokenizer(file: StaticString = #filePath, line: UInt = #line) throws -> Tokenizer {
        if let t = Self.cached { return t }
        let start = Date()
        let gguf = try DefaultModel.file()
        let parsed = Date()
        let t = try Tokenizer(gguf: gguf)
        print("GGUF parse: \(Int(parsed.timeIntervalSince(start) * 1000)) ms, Tokenizer(gguf:): \(Int(Date().timeIntervalSince(parsed) * 1000)) ms")
        Self.cached = t
        return t
    }

    struct Case {
        let text: String
        let ids: [TokenID]
    }

    func fixtureCases() throws -> (tokenize: [Case], generate: [Case]) {
        guard let url = Bundle.module.url(forResource: "Fixtures/smollm2-135m-instruct-q4_1", withExtension: "json") else {
            XCTFail("fixture smollm2-135m-instruct-q4_1.json not found in the test bundle")
            return ([], [])
        }
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        func ids(_ any: Any?) -> [TokenID] { (any as? [NSNumber] ?? []).map { TokenID($0.intValue) } }
        let tok = (root["tokenize"] as? [[String: Any]] ?? []).map { Case(text: $0["text"] as! String, ids: ids($0["ids"])) }
        let gen = (root["generate"] as? [[String: Any]] ?? []).map { Case(text: $0["input_text"] as! String, ids: ids($0["input_ids"])) }
        return (tok, gen)
    }

    func assertSameIDs(_ text: String, _ expected: [TokenID], _ actual: [TokenID], file: StaticString = #filePath, line: UInt = #line) -> Bool {
        if expected == actual { return true }
        let firstDiff = zip(expected, actual).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset ?? min(expected.count, actual.count)
        XCTFail("""
            tokenisation mismatch for \(text.debugDescription)
              expected: \(expected)
              actual:   \(actual)
              first differing index: \(firstDiff)
            """, file: file, line: line)
        return false
    }

    // MARK: - Golden data

    func testFixtureTokenizeCases() throws {
        let t = try tokenizer()
        let cases = try fixtureCases().tokenize
        XCTAssertFalse(cases.isEmpty)
        var passed = 0
        for c in cases where assertSameIDs(c.text, c.ids, t.encode(c.text, parseSpecial: true, addBOS: false)) {
            passed += 1
        }
        print("fixture tokenize: \(passed)/\(cases.count) identical")
    }

    func testFixtureGenerateInputs() throws {
        let t = try tokenizer()
        let cases = try fixtureCases().generate
        XCTAssertFalse(cases.isEmpty)
        var passed = 0
        for c in cases where assertSameIDs(c.text, c.ids, t.encode(c.text)) {
            passed += 1
        }
        print("fixture generate inputs: \(passed)/\(cases.count) identical")
    }

    // MARK: - Round trips

    func testRoundTripFixtureTexts() throws {
        let t = try tokenizer()
        let (tok, gen) = try fixtureCases()
        for c in tok + gen {
            XCTAssertEqual(t.decode(t.encode(c.text), renderSpecial: true), c.text)
            XCTAssertEqual(t.decode(t.encode(c.text, parseSpecial: false)), c.text)
        }
    }

    static func randomText(_ rng: inout SeededGenerator) -> String {
        let pools: [[String]] = [
            (0x21...0x7E).map { String(UnicodeScalar($0)!) },
            [" ", " ", "  ", "\n", "\t", "\r\n", "\n\n", "   "],
            (0...9).map(String.init),
            ["é", "ü", "ñ", "ç", "Å", "ø", "ß", "œ", "ā", "ł", "Ž", "ő"],
            ["北", "京", "欢", "迎", "你", "日", "本", "語", "한", "국", "の", "カ"],
            ["😀", "👋", "🎉", "👍🏽", "❤️", "🇫🇷", "👨‍👩‍👧"],
            ["e\u{301}", "a\u{308}", "o\u{302}\u{323}", "\u{301}", "n\u{303}"],
            ["'s", "'ll", "'RE", "don't", "<|im_start|>", "<|im_end|>", "<|endoftext|>", "Hello", "world", "١٢٣", "Ⅻ", "\u{00A0}", "\u{3000}", "\u{2028}"],
        ]
        var s = ""
        let len = Int.random(in: 1...40, using: &rng)
        for _ in 0..<len {
            let pool = pools[Int.random(in: 0..<pools.count, using: &rng)]
            s += pool[Int.random(in: 0..<pool.count, using: &rng)]
        }
        return s
    }

    /// The bytes whose byte-level character is not in SmolLM2's tokenizer.ggml.tokens, as gguf's
    /// GGUFReader lists them (bytes_to_unicode over the token list). llama.cpp drops them when it
    /// encodes (the tokenizer-bpe fuzz target's first finding, fuzz/crashes/tokenizer-bpe/), and so do we.
    func testBytesWithoutATokenAreListedAndDropped() throws {
        let t = try tokenizer()
        XCTAssertEqual(t.bytesWithoutToken, [0x04, 0x06, 0x13, 0x14, 0x16, 0x1D, 0xC0, 0xC1, 0xF1, 0xF2,
                                             0xF5, 0xF6, 0xF7, 0xF8, 0xF9, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE, 0xFF])
        let text = "a\u{9F9FF}b"  // UTF-8 F2 9F A7 BF: the lead byte has no token
        XCTAssertEqual(t.decodeBytes(t.encode(text, parseSpecial: false, addBOS: false)), [0x61, 0x9F, 0xA7, 0xBF, 0x62])
    }

    func testRoundTripRandomStrings() throws {
        let t = try tokenizer()
        var rng = SeededGenerator(seed: 0x5EED)
        for _ in 0..<400 {
            let s = Self.randomText(&rng)
            let ids = t.encode(s)
            XCTAssertEqual(t.decode(ids, renderSpecial: true), s, "special-parsed round trip of \(s.debugDescription)")
            let plain = t.encode(s, parseSpecial: false)
            XCTAssertEqual(t.decode(plain), s, "plain round trip of \(s.debugDescription)")
            XCTAssertTrue(plain.allSatisfy { !t.isControl($0) }, "control token from unparsed text \(s.debugDescription)")
        }
    }

    func testStreamingDecoderMatchesDecode() throws {
        let t = try tokenizer()
        var rng = SeededGenerator(seed: 42)
        var texts = ["北京欢迎你 smile 😀 wave 👋", "Ελληνικά Zürich São Paulo ¡Hola!", "👨‍👩‍👧🇫🇷 e\u{301}"]
        for _ in 0..<200 { texts.append(Self.randomText(&rng)) }
        for text in texts {
            for special in [false, true] {
                let ids = t.encode(text)
                var dec = StreamingDecoder(tokenizer: t, renderSpecial: special)
                var streamed = ""
                for id in ids {
                    let chunk = dec.append(id)
                    XCTAssertFalse(chunk.unicodeScalars.contains("\u{FFFD}"), "U+FFFD streamed for \(text.debugDescription)")
                    streamed += chunk
                }
                let rest = dec.flush()
                XCTAssertFalse(rest.contains("\u{FFFD}"))
                streamed += rest
                XCTAssertEqual(streamed, t.decode(ids, renderSpecial: special))
            }
        }
        // Multi-byte characters split across byte tokens really are held back.
        let ids = t.encode("北京欢迎你")
        XCTAssertGreaterThan(ids.count, 5)
        var dec = StreamingDecoder(tokenizer: t)
        var pendingSeen = false
        for id in ids where dec.append(id).isEmpty { pendingSeen = true }
        XCTAssertTrue(pendingSeen)
        XCTAssertEqual(dec.flush(), "")
    }

    func testStreamingDecoderFlushesInvalidBytes() throws {
        let t = try tokenizer()
        // A lone lead byte of a 3-byte sequence, then ASCII: the lead can never complete.
        guard let lead = (0..<TokenID(t.vocabularySize)).first(where: { t.piece($0) == [0xE5] }),
              let a = t.id(of: "a") else { return XCTFail("byte tokens missing") }
        var dec = StreamingDecoder(tokenizer: t)
        XCTAssertEqual(dec.append(lead), "")
        XCTAssertEqual(dec.append(a), "\u{FFFD}a")
        XCTAssertEqual(dec.append(lead), "")
        XCTAssertEqual(dec.flush(), "\u{FFFD}")
    }

    // MARK: - Special tokens

    func testSpecialTokens() throws {
        let t = try tokenizer()
        XCTAssertEqual(t.vocabularySize, 49152)
        XCTAssertEqual(t.id(of: "<|im_start|>"), 1)
        XCTAssertEqual(t.tokenText(1), "<|im_start|>")
        XCTAssertEqual(t.encode("<|im_start|>"), [1])
        let plain = t.encode("<|im_start|>", parseSpecial: false)
        XCTAssertGreaterThan(plain.count, 1)
        XCTAssertFalse(plain.contains(1))
        XCTAssertEqual(t.decode(plain), "<|im_start|>")
        XCTAssertEqual(t.bosID, 1)
        XCTAssertEqual(t.eosID, 2)
        XCTAssertFalse(t.addBOS)
        XCTAssertEqual(t.encode("Hi", addBOS: true), [1] + t.encode("Hi"))
        XCTAssertTrue(t.endOfGeneration.contains(2))
        XCTAssertTrue(t.endOfGeneration.contains(0))
        XCTAssertTrue(t.isEndOfGeneration(2))
        XCTAssertFalse(t.isEndOfGeneration(1))
        XCTAssertFalse(t.isEndOfGeneration(t.id(of: "Hello") ?? 5000))
        // Control tokens render only as special.
        XCTAssertEqual(t.decode([1, 9690, 2]), "system")
        XCTAssertEqual(t.decode([1, 9690, 2], renderSpecial: true), "<|im_start|>system<|im_end|>")
        XCTAssertEqual(t.piece(1), Array("<|im_start|>".utf8))
        XCTAssertEqual(t.piece(1, renderSpecial: false), [])
        XCTAssertEqual(t.piece(t.id(of: "Ġworld")!), Array(" world".utf8))
        XCTAssertEqual(t.encode(""), [])
        XCTAssertEqual(t.encode("", addBOS: true), [1])
    }

    // MARK: - Malformed vocabularies

    func baseVocab() -> TinyGGUF {
        var g = TinyGGUF()
        g.kvs = [
            ("general.architecture", .string("llama")),
            ("tokenizer.ggml.model", .string("gpt2")),
            ("tokenizer.ggml.pre", .string("gpt2")),
            ("tokenizer.ggml.tokens", .strings(["<|endoftext|>", "a", "b", "ab"])),
            ("tokenizer.ggml.token_type", .i32s([3, 1, 1, 1])),
            ("tokenizer.ggml.merges", .strings(["a b"])),
            ("tokenizer.ggml.bos_token_id", .u32(0)),
            ("tokenizer.ggml.eos_token_id", .u32(0)),
        ]
        return g
    }

    func assertBadTokenizer(_ g: TinyGGUF, mentioning key: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Tokenizer(gguf: g.file()), file: file, line: line) { error in
            guard let e = error as? GGUFError else { return XCTFail("not a GGUFError: \(error)", file: file, line: line) }
            XCTAssertEqual(e.kind, .badTokenizer, file: file, line: line)
            XCTAssertTrue(e.message.contains(key), "message \(e.message.debugDescription) should name \(key)", file: file, line: line)
        }
    }

    func replacing(_ g: TinyGGUF, _ key: String, with value: TinyGGUF.Value?) -> TinyGGUF {
        var g = g
        if let i = g.kvs.firstIndex(where: { $0.0 == key }) {
            if let value { g.kvs[i].1 = value } else { g.kvs.remove(at: i) }
        } else if let value {
            g.kvs.append((key, value))
        }
        return g
    }

    func testTinyVocabularyWorks() throws {
        let t = try Tokenizer(gguf: baseVocab().file())
        XCTAssertEqual(t.encode("ab"), [3])
        XCTAssertEqual(t.encode("aab<|endoftext|>b"), [1, 3, 0, 2])
        XCTAssertEqual(t.encode("aab<|endoftext|>b", parseSpecial: false), [1, 3, 2])  // unknown bytes dropped, as llama.cpp
        XCTAssertEqual(t.endOfGeneration, [0])
    }

    func testMalformedTokenizersThrow() throws {
        let g = baseVocab()
        assertBadTokenizer(replacing(g, "tokenizer.ggml.token_type", with: .i32s([3, 1, 1])), mentioning: "tokenizer.ggml.token_type")
        assertBadTokenizer(replacing(g, "tokenizer.ggml.scores", with: .f32s([0, 0])), mentioning: "tokenizer.ggml.scores")
        assertBadTokenizer(replacing(g, "tokenizer.ggml.eos_token_id", with: .u32(4)), mentioning: "tokenizer.ggml.eos_token_id")
        assertBadTokenizer(replacing(g, "tokenizer.ggml.bos_token_id", with: .u32(99)), mentioning: "tokenizer.ggml.bos_token_id")
        assertBadTokenizer(replacing(g, "tokenizer.ggml.tokens", with: nil), mentioning: "tokenizer.ggml.tokens")
        assertBadTokenizer(replacing(g, "tokenizer.ggml.merges", with: nil), mentioning: "tokenizer.ggml.merges")
        assertBadTokenizer(replacing(g, "tokenizer.ggml.model", with: .string("nonsense")), mentioning: "tokenizer.ggml.model")
        assertBadTokenizer(replacing(g, "tokenizer.ggml.model", with: nil), mentioning: "tokenizer.ggml.model")
        assertBadTokenizer(replacing(g, "tokenizer.ggml.pre", with: .string("no-such-pre")), mentioning: "tokenizer.ggml.pre")
        assertBadTokenizer(replacing(g, "tokenizer.ggml.tokens", with: .i32s([1, 2, 3, 4])), mentioning: "tokenizer.ggml.tokens")
        assertBadTokenizer(replacing(g, "tokenizer.ggml.add_space_prefix", with: .u32(1)), mentioning: "tokenizer.ggml.add_space_prefix")
    }

    /// SentencePiece ("llama") vocabularies need no merges; their own malformed keys still throw.
    func testSentencePieceVocabularyIsAcceptedAndChecked() throws {
        var g = replacing(replacing(baseVocab(), "tokenizer.ggml.model", with: .string("llama")), "tokenizer.ggml.merges", with: nil)
        g = replacing(g, "tokenizer.ggml.tokens", with: .strings(["<unk>", "▁a", "b", "▁ab"]))
        g = replacing(g, "tokenizer.ggml.token_type", with: .i32s([2, 1, 1, 1]))
        g = replacing(g, "tokenizer.ggml.scores", with: .f32s([0, -2, -2, -1]))
        let t = try Tokenizer(gguf: g.file())
        XCTAssertEqual(t.modelType, "llama")
        XCTAssertEqual(t.encode("ab", addBOS: false), [3])
        XCTAssertEqual(t.decode([3]), "ab")
        XCTAssertEqual(t.encodePrompt("ab"), [0, 3], "add_bos defaults to true for SPM; BOS is token 0 here")
        assertBadTokenizer(replacing(g, "tokenizer.ggml.scores", with: .f32s([0, 0])), mentioning: "tokenizer.ggml.scores")
        assertBadTokenizer(replacing(g, "tokenizer.ggml.scores", with: .strings(["0", "0", "0", "0"])), mentioning: "tokenizer.ggml.scores")
        assertBadTokenizer(replacing(g, "tokenizer.ggml.add_space_prefix", with: .string("yes")), mentioning: "tokenizer.ggml.add_space_prefix")
        assertBadTokenizer(replacing(g, "tokenizer.ggml.model", with: .string("t5")), mentioning: "tokenizer.ggml.model")
    }

    // MARK: - Pre-tokenizers

    /// A byte-level vocabulary in which every substring of `text` is a token and every split of
    /// every substring is a merge, so each pre-tokenizer word comes out as exactly one token.
    func splitProbe(pre: String, text: String) throws -> [String] {
        let chars = Array(text.utf8).map(byteLevelChar)
        var vocab = (0...255).map { String(byteLevelChar(UInt8($0))) }
        var seen = Set(vocab)
        var merges = [String]()
        for a in 0..<chars.count {
            for e in (a + 2)...max(a + 2, chars.count) where e <= chars.count {
                let s = String(chars[a..<e])
                if seen.insert(s).inserted { vocab.append(s) }
                for k in (a + 1)..<e { merges.append(String(chars[a..<k]) + " " + String(chars[k..<e])) }
            }
        }
        var g = TinyGGUF()
        g.kvs = [
            ("tokenizer.ggml.model", .string("gpt2")),
            ("tokenizer.ggml.pre", .string(pre)),
            ("tokenizer.ggml.tokens", .strings(vocab)),
            ("tokenizer.ggml.merges", .strings(merges)),
            ("tokenizer.ggml.bos_token_id", .u32(0)),
            ("tokenizer.ggml.eos_token_id", .u32(0)),
        ]
        let t = try Tokenizer(gguf: g.file())
        let ids = t.encode(text, parseSpecial: false, addBOS: false)
        XCTAssertEqual(String(decoding: ids.flatMap { t.piece($0) }, as: UTF8.self), text)
        return ids.map { String(decoding: t.piece($0), as: UTF8.self) }
    }

    func testPreTokenizerSplits() throws {
        // Expected splits from the Hugging Face regexes (Python `regex` module).
        let text = "Hello  world's 12345 ÀB\tx\n\n  y ?!.. 'LL\r\n  z   "
        XCTAssertEqual(try splitProbe(pre: "gpt2", text: text),
                       ["Hello", " ", " world", "'s", " 12345", " ÀB", "\t", "x", "\n\n ", " y", " ?!..", " '", "LL", "\r\n ", " z", "   "])
        XCTAssertEqual(try splitProbe(pre: "smollm", text: text),
                       ["Hello", " ", " world", "'s", " ", "1", "2", "3", "4", "5", " ÀB", "\t", "x", "\n\n ", " y", " ?!..", " '", "LL", "\r\n ", " z", "   "])
        XCTAssertEqual(try splitProbe(pre: "llama-bpe", text: text),
                       ["Hello", " ", " world", "'s", " ", "123", "45", " ÀB", "\tx", "\n\n", " ", " y", " ?!..", " '", "LL", "\r\n", " ", " z", "   "])
        XCTAssertEqual(try splitProbe(pre: "qwen2", text: text),
                       ["Hello", " ", " world", "'s", " ", "1", "2", "3", "4", "5", " ÀB", "\tx", "\n\n", " ", " y", " ?!..", " '", "LL", "\r\n", " ", " z", "   "])
    }

    // MARK: - Speed

    func testEncodeSpeed() throws {
        let t = try tokenizer()
        var rng = SeededGenerator(seed: 7)
        var text = ""
        while text.utf8.count < 10_000 { text += Self.randomText(&rng) + " The quick brown fox jumps over the lazy dog. " }
        _ = t.encode(String(text.prefix(100)))
        let start = Date()
        let ids = t.encode(text)
        let cold = Date().timeIntervalSince(start)
        let start2 = Date()
        _ = t.encode(text)
        let warm = Date().timeIntervalSince(start2)
        print("encode \(text.utf8.count) bytes -> \(ids.count) tokens: \(String(format: "%.2f", cold * 1000)) ms first, \(String(format: "%.2f", warm * 1000)) ms cached")
        XCTAssertLessThan(cold, 1.0)
        XCTAssertEqual(t.decode(ids, renderSpecial: true), text)
    }
}
