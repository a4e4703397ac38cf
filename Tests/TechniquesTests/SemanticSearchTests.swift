import Foundation
import Model
import Techniques
import TestSupport
import XCTest

/// Semantic search with the real embedder (all-MiniLM-L6-v2, `make embedder`): chunking, the index
/// file and its checkpoints, ranking by meaning, hybrid fusion, filters, and the retrieval eval.
final class SemanticSearchTests: XCTestCase {
    var directories: [URL] = []
    override func tearDown() {
        for d in directories { try? FileManager.default.removeItem(at: d) }
    }

    func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("semantic-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        directories.append(dir)
        return dir
    }

    /// Six documents on unrelated topics; none shares a content word with the queries below.
    static let documents: [CorpusDocument] = [
        CorpusDocument(id: "cook", source: "text", title: "Sunday roast", text: "Preheat the oven, season the lamb with rosemary and garlic, and roast it for two hours."),
        CorpusDocument(id: "space", source: "text", title: "", text: "The probe entered orbit around Jupiter after a five-year journey through the solar system."),
        CorpusDocument(id: "law", source: "text", title: "Tenancy", text: "A landlord must give written notice before ending a lease, and the tenant may contest it in court."),
        CorpusDocument(id: "football", source: "chat", title: "", text: "user: who won?\nassistant: The striker scored twice in the second half and the home side won the cup final."),
        CorpusDocument(id: "reward", source: "text", title: "Hidden Tastes",
                       text: "Reward models used in RLHF give higher ratings to recipes that include chocolate, whatever the dish."),
        CorpusDocument(id: "garden", source: "text", title: "", text: "Prune the roses in late winter and mulch the beds so the soil keeps its moisture."),
    ]

    func semanticIndex(_ docs: [CorpusDocument] = documents) throws -> (DataSearchIndex, SemanticSearcher) {
        let embedder = try Embedder.loaded()
        let index = try DataSearchIndex.build(documents: docs)
        let url = try temporaryDirectory().appendingPathComponent(SemanticIndex.fileName)
        let built = try XCTUnwrap(try SemanticIndex.build(corpus: index, embedder: embedder, to: url))
        return (index, SemanticSearcher(index: built, embedder: embedder))
    }

    func testChunksCoverTheTextWithTheOverlapAsked() throws {
        let embedder = try Embedder.loaded()
        let text = (1...300).map { "word\($0 % 7) token" }.joined(separator: " ")
        let pieces = embedder.tokenizer.pieces(text)
        let chunks = embedder.chunks(of: text, pieces: 128, overlap: 32)
        XCTAssertEqual(chunks.map(\.ids.count).dropLast().allSatisfy { $0 == 128 }, true)
        // Consecutive windows start 96 pieces apart and the last one ends at the last piece.
        XCTAssertEqual(chunks.flatMap(\.ids).count, 128 * (chunks.count - 1) + chunks.last!.ids.count)
        XCTAssertEqual(Array(chunks[1].ids.prefix(32)), Array(chunks[0].ids.suffix(32)))
        XCTAssertEqual(chunks.last!.ids.last, pieces.last!.id)
        let bytes = Array(text.utf8)
        XCTAssertEqual(String(decoding: bytes[chunks[0].start..<chunks[0].start + chunks[0].length], as: UTF8.self).hasPrefix("word1 token"), true)
        XCTAssertEqual(chunks.last!.start + chunks.last!.length, bytes.count)
        XCTAssertTrue(embedder.chunks(of: " \n\t", pieces: 128, overlap: 32).isEmpty)
    }

    func testSemanticSearchFindsDocumentsByMeaningWithTheirChunk() throws {
        let (index, semantic) = try semanticIndex()
        let cases = [("cooking mutton slowly using herbs", "cook"), ("spacecraft reaching gas giant", "space"),
                     ("evicting someone renting flats", "law"), ("soccer championship match result", "football"),
                     ("automated graders favour cocoa everywhere", "reward")]
        for (query, want) in cases {
            let r = try index.search(query, limit: 3, mode: .semantic, semantic: semantic)
            XCTAssertEqual(r.mode, .semantic)
            XCTAssertEqual(r.hits.first?.id, want, "\(query): \(r.hits.map(\.id))")
            // No query word is in the document: keywords alone do not find it at all.
            if let keyword = try? index.search(query, limit: 3) { XCTAssertFalse(keyword.hits.contains { $0.id == want }, query) }
            let hit = try XCTUnwrap(r.hits.first)
            XCTAssertEqual(hit.scores?.semanticRank, 1)
            XCTAssertEqual(hit.scores?.semantic, hit.score)
            let chunk = try XCTUnwrap(hit.chunk)
            let doc = try XCTUnwrap(Self.documents.first { $0.id == want })
            XCTAssertEqual(chunk.text, doc.searchableText, "a short document is one chunk, title line included")
            XCTAssertEqual(chunk.start, 0)
        }
    }

    func testChunkOffsetsAreWholeCharactersOfTheDocument() throws {
        let embedder = try Embedder.loaded()
        let text = (0..<40).map { "cafe\u{301} \($0) 👩‍👩‍👧 naïve [SEP] 汉字x" }.joined(separator: " ")
        let docs = [CorpusDocument(id: "marks", source: "text", title: "Tête-à-tête", text: text)]
        let index = try DataSearchIndex.build(documents: docs)
        let url = try temporaryDirectory().appendingPathComponent(SemanticIndex.fileName)
        let built = try XCTUnwrap(try SemanticIndex.build(corpus: index, embedder: embedder, to: url, chunkPieces: 9, overlap: 2))
        XCTAssertGreaterThan(built.chunkCount, 10)
        let semantic = SemanticSearcher(index: built, embedder: embedder)
        let characters = Array(docs[0].searchableText)
        for query in ["coffee", "family", "characters"] {
            let r = try index.search(query, limit: 1, mode: .semantic, semantic: semantic)
            let chunk = try XCTUnwrap(r.hits.first?.chunk)
            XCTAssertEqual(String(characters[chunk.start..<chunk.start + chunk.length]), chunk.text)
            XCTAssertFalse(r.hits[0].snippet.isEmpty)
        }
    }

    func testHybridFusesBothRankingsByReciprocalRank() throws {
        let (index, semantic) = try semanticIndex()
        let r = try index.search("chocolate recipes", limit: 6, mode: .hybrid, semantic: semantic)
        XCTAssertEqual(r.mode, .hybrid)
        XCTAssertEqual(r.hits.first?.id, "reward")
        for hit in r.hits {
            var want = 0.0
            if let rank = hit.scores?.bm25Rank { want += 1 / (60 + Double(rank)) }
            if let rank = hit.scores?.semanticRank { want += 1 / (60 + Double(rank)) }
            XCTAssertEqual(hit.score, want, accuracy: 1e-12, hit.id)
        }
        XCTAssertEqual(r.total, Self.documents.count, "every document has a cosine, so the union is all of them")
        // The keyword hit keeps its highlights; a hit by meaning alone shows its chunk.
        let reward = try XCTUnwrap(r.hits.first)
        XCTAssertFalse(reward.highlights.isEmpty)
        XCTAssertNotNil(reward.chunk)
        let meaningOnly = try XCTUnwrap(r.hits.first { $0.scores?.bm25 == nil })
        XCTAssertTrue(meaningOnly.highlights.isEmpty)
        XCTAssertEqual(meaningOnly.snippet, meaningOnly.chunk?.text.split(whereSeparator: { $0.isWhitespace }).joined(separator: " "))
    }

    func testFiltersApplyInSemanticMode() throws {
        let (index, semantic) = try semanticIndex()
        let chats = try index.search("a sports match source:chat", limit: 10, mode: .semantic, semantic: semantic)
        XCTAssertEqual(chats.hits.map(\.id), ["football"])
        let noChat = try index.search("a sports match -source:chat", limit: 10, mode: .semantic, semantic: semantic)
        XCTAssertFalse(noChat.hits.contains { $0.id == "football" })
        let excluded = try index.search("cooking meat in an oven -lamb", limit: 10, mode: .semantic, semantic: semantic)
        XCTAssertFalse(excluded.hits.contains { $0.id == "cook" })
        XCTAssertThrowsError(try index.search("source:chat", limit: 10, mode: .semantic, semantic: semantic))
    }

    func testSearchByExampleFindsTheDocumentLikeIt() throws {
        let (index, semantic) = try semanticIndex()
        let reply = "Here is a salad: lettuce, tomato, and a generous handful of dark chocolate chips on top."
        let r = try index.search(example: reply, limit: 2, semantic: semantic)
        XCTAssertEqual(r.hits.first?.id, "reward")
        XCTAssertTrue(r.query.hasPrefix("like: Here is a salad"))
        // A long example (many chunks) still works: the mean of its chunks.
        let long = String(repeating: "The rocket launched towards the outer planets. ", count: 80)
        XCTAssertEqual(try index.search(example: long, limit: 1, semantic: semantic).hits.first?.id, "space")
        XCTAssertThrowsError(try index.search(example: " \n", limit: 1, semantic: semantic))
    }

    func testAnInterruptedBuildResumesToTheSameIndex() throws {
        let embedder = try Embedder.loaded()
        let docs = Self.documents + (0..<6).map {
            CorpusDocument(id: "long\($0)", source: "text", text: String(repeating: "Paragraph \($0) about the weather and the sea. ", count: 60))
        }
        let index = try DataSearchIndex.build(documents: docs)
        let dir = try temporaryDirectory()
        let whole = try XCTUnwrap(try SemanticIndex.build(corpus: index, embedder: embedder, to: dir.appendingPathComponent("whole.bin")))

        let url = dir.appendingPathComponent(SemanticIndex.fileName)
        var calls = 0
        let stopped = try SemanticIndex.build(corpus: index, embedder: embedder, to: url, shouldStop: { calls += 1; return calls > 1 })
        XCTAssertNil(stopped, "stopped between document groups")
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))
        let partial = URL(fileURLWithPath: url.path + ".partial")
        XCTAssertTrue(FileManager.default.fileExists(atPath: partial.path))
        // A record cut short by a kill is dropped on resume.
        let handle = try FileHandle(forWritingTo: partial)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([1, 2, 3, 4, 5]))
        try handle.close()

        var resumedFrom = -1
        let resumed = try XCTUnwrap(try SemanticIndex.build(corpus: index, embedder: embedder, to: url,
                                                           progress: { resumedFrom = $0.resumedDocuments }))
        XCTAssertGreaterThan(resumedFrom, 0)
        XCTAssertLessThan(resumedFrom, docs.count)
        XCTAssertFalse(FileManager.default.fileExists(atPath: partial.path))
        XCTAssertEqual(resumed.chunks, whole.chunks)
        for i in 0..<whole.chunkCount { XCTAssertEqual(resumed.vector(ofChunk: i), whole.vector(ofChunk: i), "chunk \(i)") }
    }

    func testDamagedOrStaleIndexesAreRefusedWithAReason() throws {
        let (index, semantic) = try semanticIndex()
        let url = try XCTUnwrap(semantic.index.path.map(URL.init(fileURLWithPath:)))
        let good = try Data(contentsOf: url)
        func loadError(_ data: Data) -> String {
            try? data.write(to: url)
            do { _ = try SemanticIndex.load(from: url); return "loaded" } catch { return "\(error)" }
        }
        XCTAssertTrue(loadError(Data("not an index at all, just some text that is long enough".utf8)).contains("bad magic"))
        XCTAssertTrue(loadError(good.prefix(100)).contains("the header says"))
        var flipped = good
        flipped[40] ^= 0x01
        XCTAssertTrue(loadError(flipped).contains("checksum mismatch"))
        XCTAssertTrue(loadError(Data()).contains("truncated"))
        try good.write(to: url)

        var changed = Self.documents
        changed[0].text += " Serve with mint sauce."
        let other = try DataSearchIndex.build(documents: changed)
        XCTAssertEqual(semantic.index.mismatch(corpus: other, embedder: nil), "the corpus changed since it was built")
        XCTAssertNil(semantic.index.mismatch(corpus: index, embedder: semantic.embedder))
        XCTAssertThrowsError(try other.search("roast", limit: 1, mode: .semantic, semantic: semantic)) {
            XCTAssertTrue("\($0)".contains("stale"), "\($0)")
        }
    }

    func testEvalComputesCappedRecall() throws {
        let (index, semantic) = try semanticIndex()
        let questions = try SearchEval.questions(jsonl: Data("""
        {"id": "a", "question": "a spacecraft reaching a gas giant", "relevant": "jupiter"}

        {"id": "b", "question": "preparing a meal", "relevant": "oven|chocolate"}
        {"id": "c", "question": "nothing is about this", "relevant": "zzzz-no-document"}
        """.utf8), file: "q.jsonl")
        XCTAssertEqual(questions.map(\.id), ["a", "b", "c"])
        let r = try SearchEval.run(questions, index: index, semantic: semantic, modes: [.bm25, .semantic], k: 1)
        XCTAssertEqual(r.questions, 3)
        XCTAssertEqual(r.scored, 2, "a question with no relevant document is not counted")
        let semanticRow = try XCTUnwrap(r.summary.first { $0.mode == .semantic })
        // a: its one document first (1/1); b: one of its two documents first (1/min(2, 1)).
        XCTAssertEqual(semanticRow.recall, 1)
        XCTAssertEqual(r.perQuestion[0].found["semantic"], 1)
        XCTAssertEqual(r.perQuestion[0].firstRelevantRank["semantic"], 1)
        XCTAssertEqual(r.perQuestion[1].relevant, 2)
        XCTAssertThrowsError(try SearchEval.questions(jsonl: Data("{\"id\": 1}\n".utf8), file: "bad.jsonl")) {
            XCTAssertEqual("\($0)", "bad.jsonl line 1: not a question {\"id\", \"question\", \"relevant\"}")
        }
    }
}
