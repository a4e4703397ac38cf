import CKernels
import Foundation
import Model
import TestSupport
import XCTest

/// The in-process sentence embedder against sentence-transformers' own output for the same model:
/// Fixtures/embeddings/reference.json, written by make_reference.py beside it (torch,
/// sentence-transformers and tokenizers in .venv-embed, `scripts/embedder-venv.sh`).
final class EmbeddingTests: XCTestCase {
    struct Reference: Decodable {
        struct Text: Decodable {
            let name: String
            let text: String
            let input_ids: [Int32]
            let embedding: [Float]
        }
        struct Case: Decodable {
            let name: String
            let text: String
            let input_ids: [Int32]
        }
        let max_seq_length: Int
        let texts: [Text]
        let tokenizer_cases: [Case]
    }

    static let reference: Reference = {
        let url = Bundle.module.url(forResource: "Fixtures/embeddings/reference", withExtension: "json")!
        return try! JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
    }()

    /// The first place two id lists differ, for a failure message.
    func firstMismatch(_ a: [Int32], _ b: [Int32]) -> String {
        let i = (0..<min(a.count, b.count)).first { a[$0] != b[$0] } ?? min(a.count, b.count)
        return "first difference at \(i): ours \(a.dropFirst(i).prefix(6)) vs reference \(b.dropFirst(i).prefix(6)) (lengths \(a.count), \(b.count))"
    }

    func testTokenizerMatchesTheReferenceOnEveryCase() throws {
        let tokenizer = try Embedder.loaded().tokenizer
        let ref = Self.reference
        XCTAssertGreaterThan(ref.tokenizer_cases.count, 40)
        for c in ref.tokenizer_cases {
            let ids = tokenizer.encode(c.text, maxLength: .max)
            XCTAssertEqual(ids, c.input_ids, "\(c.name): \(firstMismatch(ids, c.input_ids))")
        }
        for t in ref.texts {
            let ids = tokenizer.encode(t.text, maxLength: ref.max_seq_length)
            XCTAssertEqual(ids, t.input_ids, "\(t.name): \(firstMismatch(ids, t.input_ids))")
        }
    }

    func testPieceRangesPointIntoTheOriginalText() throws {
        let tokenizer = try Embedder.loaded().tokenizer
        let text = "Café DÉJÀ vu: naïve [SEP] 汉字 ok"
        let bytes = Array(text.utf8)
        let pieces = tokenizer.pieces(text)
        let shown = pieces.map { String(decoding: bytes[$0.range], as: UTF8.self) }
        // "déjà" is de + ##ja: each piece covers its own letters of the original, accents and case kept.
        XCTAssertEqual(shown, ["Café", "DÉ", "JÀ", "vu", ":", "naïve", "[SEP]", "汉", "字", "ok"])
        XCTAssertEqual(shown.first, "Café")
        XCTAssertTrue(shown.contains("[SEP]"))
        XCTAssertEqual(tokenizer.pieces(text, limit: 3).count, 3)
    }

    func testEmbeddingsAgreeWithSentenceTransformers() throws {
        let embedder = try Embedder.loaded()
        XCTAssertEqual(embedder.maxSequenceLength, Self.reference.max_seq_length)
        XCTAssertEqual(embedder.pooling, .mean)
        XCTAssertTrue(embedder.normalize)
        var worst = (name: "", cosine: Float(1))
        for t in Self.reference.texts {
            let ours = embedder.embed(t.text)
            XCTAssertEqual(ours.count, t.embedding.count)
            var dot: Float = 0, a: Float = 0, b: Float = 0
            for (x, y) in zip(ours, t.embedding) { dot += x * y; a += x * x; b += y * y }
            let cosine = dot / (a.squareRoot() * b.squareRoot())
            XCTAssertGreaterThanOrEqual(cosine, 0.9999, "\(t.name): cosine \(cosine)")
            XCTAssertEqual(a.squareRoot(), 1, accuracy: 1e-4, "\(t.name): not unit length")
            if cosine < worst.cosine { worst = (t.name, cosine) }
        }
        print("embedding agreement: worst cosine \(worst.cosine) (\(worst.name)) over \(Self.reference.texts.count) texts")
    }

    /// The AVX2 GELU (a polynomial erf) against libm's erff, and the AVX2 encoder against the portable C
    /// one: the SIMD paths are an approximation and a reordering, not another function.
    func testSIMDKernelsAgreeWithThePortableOnes() throws {
        let xs = stride(from: -12.0, through: 12.0, by: 0.0007).map { Float($0) }
        var got = xs
        got.withUnsafeMutableBufferPointer { ck_gelu_erf($0.baseAddress, Int32($0.count)) }
        var worst: Float = 0
        for (x, g) in zip(xs, got) {
            let want = 0.5 * x * (1 + erff(x * 0.70710678118654752440))
            worst = max(worst, abs(g - want))
        }
        XCTAssertLessThan(worst, 2e-6, "GELU: the largest difference from libm")
        XCTAssertEqual(got[xs.firstIndex { $0 > 0 }!] > 0, true)

        let embedder = try Embedder.loaded()
        let text = Self.reference.texts.max { $0.input_ids.count < $1.input_ids.count }!.text
        let simd = embedder.embed(text)
        let saved = ck_set_simd_level(0)
        let portable = embedder.embed(text)
        _ = ck_set_simd_level(saved)
        let cosine = zip(simd, portable).reduce(Float(0)) { $0 + $1.0 * $1.1 }
        XCTAssertGreaterThanOrEqual(cosine, 0.99999)
    }

    func testTheFixtureCoversWhatTheIssueAsks() {
        let texts = Self.reference.texts
        XCTAssertTrue(texts.contains { $0.input_ids.count == Self.reference.max_seq_length }, "a text cut at max_seq_length")
        XCTAssertTrue(texts.contains { $0.text.unicodeScalars.contains { $0.value > 0x2000 } }, "non-ASCII text")
        XCTAssertTrue(texts.contains { $0.text.contains("def ") || $0.text.contains("func ") }, "code")
    }

    func testMalformedModelFoldersAreRefusedByName() throws {
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("embedder-\(UUID().uuidString)")
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: dir) }
        func error() -> String {
            do { _ = try SentenceEmbedder(folder: dir, threads: 1); return "loaded" } catch { return "\(error)" }
        }
        XCTAssertTrue(error().contains("has no readable config.json"), error())
        XCTAssertTrue({ do { _ = try SentenceEmbedder(folder: dir.appendingPathComponent("nope")); return "" } catch { return "\(error)" } }().contains("make embedder"))

        try Data(#"[{"type": "sentence_transformers.models.Transformer"}, {"type": "sentence_transformers.models.Dense"}]"#.utf8)
            .write(to: dir.appendingPathComponent("modules.json"))
        XCTAssertTrue(error().contains("only Transformer, Pooling and an optional Normalize"), error())
        try fm.removeItem(at: dir.appendingPathComponent("modules.json"))

        try Data(#"{"model_type": "bert", "hidden_act": "relu", "hidden_size": 384}"#.utf8).write(to: dir.appendingPathComponent("config.json"))
        XCTAssertTrue(error().contains("hidden_act relu is not supported"), error())
        try Data(#"{"model_type": "bert", "hidden_size": 384, "num_hidden_layers": 1, "num_attention_heads": 7, "intermediate_size": 1536, "max_position_embeddings": 512, "vocab_size": 10}"#.utf8)
            .write(to: dir.appendingPathComponent("config.json"))
        XCTAssertTrue(error().contains("not a multiple of num_attention_heads"), error())
        try Data(#"{"model_type": "bert", "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 64, "max_position_embeddings": 16, "vocab_size": 10}"#.utf8)
            .write(to: dir.appendingPathComponent("config.json"))
        XCTAssertTrue(error().contains("tokenizer.json"), error())

        // A tokenizer.json of another kind, then a vocabulary with holes.
        let tokenizer = dir.appendingPathComponent("tokenizer.json")
        try Data(#"{"normalizer": {"type": "NFKC"}, "pre_tokenizer": {"type": "BertPreTokenizer"}}"#.utf8).write(to: tokenizer)
        XCTAssertTrue(error().contains("normalizer NFKC is not supported"), error())
        let good = #"{"normalizer": {"type": "BertNormalizer", "lowercase": true}, "pre_tokenizer": {"type": "BertPreTokenizer"}, "#
        try Data((good + #""model": {"type": "BPE"}}"#).utf8).write(to: tokenizer)
        XCTAssertTrue(error().contains("model BPE is not supported"), error())
        try Data((good + #""model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "a": 5}}}"#).utf8).write(to: tokenizer)
        XCTAssertTrue(error().contains("has id 5, not 0..<2"), error())
        let vocab = #""model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "a": 3}}"#
        try Data((good + vocab + #", "post_processor": {"type": "RobertaProcessing"}}"#).utf8).write(to: tokenizer)
        XCTAssertTrue(error().contains("post_processor RobertaProcessing is not supported"), error())
        try Data((good + vocab + #", "post_processor": {"type": "BertProcessing", "cls": ["[CLS]", 1], "sep": ["[SEP]", 2]}}"#).utf8).write(to: tokenizer)
        XCTAssertTrue(error().contains("model.safetensors"), error())

        // Weights whose shapes disagree with config.json.
        let shapes: [(String, [Int])] = [("embeddings.word_embeddings.weight", [10, 16])]
        var header: [String: Any] = [:]
        var offset = 0
        for (name, shape) in shapes {
            let n = shape.reduce(1, *) * 4
            header[name] = ["dtype": "F32", "shape": shape, "data_offsets": [offset, offset + n]]
            offset += n
        }
        let json = try JSONSerialization.data(withJSONObject: header)
        var file = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(json)
        file.append(Data(count: offset))
        try file.write(to: dir.appendingPathComponent("model.safetensors"))
        XCTAssertTrue(error().contains("has shape [10, 16], not [10, 32]"), error())
    }
}
