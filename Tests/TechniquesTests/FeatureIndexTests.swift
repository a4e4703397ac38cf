import Foundation
import Model
import Techniques
import TestSupport
import XCTest

/// The feature index on the real model with a tiny SAE, checked against a brute-force computation
/// that keeps every activation; search, detail, nearest features and the index file's validation.
final class FeatureIndexTests: XCTestCase {
    static let dSAE = 16

    nonisolated(unsafe) static var built: (dir: URL, corpus: URL, sae: SparseAutoencoder, index: FeatureIndex, options: FeatureIndexOptions)?

    /// A standard (ReLU) fixture SAE at blocks.15.hook_resid_post.
    static func makeSAE() throws -> SparseAutoencoder {
        let dir = try SAEFixture.directory()
        try SAEFixture.write(dir, config: SAEFixture.config(dSAE: dSAE, architecture: "standard", applyBDec: true),
                             weights: SAEFixture.safetensors(SAEFixture.tensors(dIn: 576, dSAE: dSAE, dtype: "F32", jumprelu: false)))
        return try SparseAutoencoder.load(directory: dir.path, expectedDIn: 576)
    }

    /// A corpus directory: two text files (one with two blank-line-separated documents) and a .jsonl file.
    static func makeCorpus() throws -> URL {
        let dir = try SAEFixture.directory()
        try "The rocket launched at dawn and climbed through the clouds over the quiet harbour town.\n\nCats sleep most of the day; dogs prefer to chase the ball in the park until evening."
            .write(to: dir.appendingPathComponent("a.txt"), atomically: true, encoding: .utf8)
        try "# Notes\nThe library opens files, reads lines and writes them back to disk. Every file has a path."
            .write(to: dir.appendingPathComponent("b.md"), atomically: true, encoding: .utf8)
        try "{\"text\": \"Paris is the capital of France, and Berlin is the capital of Germany.\"}\n\n{\"text\": \"She counted: one, two, three, four, five.\", \"id\": 7}\n"
            .write(to: dir.appendingPathComponent("c.jsonl"), atomically: true, encoding: .utf8)
        try "ignored".write(to: dir.appendingPathComponent("d.csv"), atomically: true, encoding: .utf8)
        return dir
    }

    static func options(_ corpus: URL) -> FeatureIndexOptions {
        var o = FeatureIndexOptions(corpus: corpus.path)
        o.chunkLength = 16
        o.top = 3
        o.windowBefore = 3
        o.windowAfter = 2
        o.outlierFactor = .infinity // the brute force below keeps every position but 0
        o.maxTokens = 1_000_000
        return o
    }

    func fixture() throws -> (dir: URL, corpus: URL, sae: SparseAutoencoder, index: FeatureIndex, options: FeatureIndexOptions) {
        if let b = Self.built { return b }
        let sae = try Self.makeSAE()
        let corpus = try Self.makeCorpus()
        let o = Self.options(corpus)
        let index = try FeatureIndex.build(sae: sae, model: try DefaultModel.loaded(), options: o)
        Self.built = (sae.directory, corpus, sae, index, o)
        return Self.built!
    }

    override class func tearDown() {
        if let b = built {
            try? FileManager.default.removeItem(at: b.dir)
            try? FileManager.default.removeItem(at: b.corpus)
        }
        built = nil
    }

    /// Every position's activations, the way a reader without any streaming would get them.
    struct Brute {
        var chunks: [(document: Int, ids: [TokenID], features: [[Float]])] = []
    }

    func bruteForce(sae: SparseAutoencoder, corpus: URL, options: FeatureIndexOptions) throws -> Brute {
        let loaded = try DefaultModel.loaded()
        let tok = loaded.tokenizer
        // The documents in reading order, written out by hand.
        let docs = ["The rocket launched at dawn and climbed through the clouds over the quiet harbour town.",
                    "Cats sleep most of the day; dogs prefer to chase the ball in the park until evening.",
                    "# Notes\nThe library opens files, reads lines and writes them back to disk. Every file has a path.",
                    "Paris is the capital of France, and Berlin is the capital of Germany.",
                    "She counted: one, two, three, four, five."]
        var brute = Brute()
        for (d, doc) in docs.enumerated() {
            let ids = tok.encode(doc, parseSpecial: false, addBOS: false)
            var offset = 0
            let room = options.chunkLength - (tok.bosID == nil ? 0 : 1)
            while offset < ids.count {
                let end = min(ids.count, offset + room)
                let chunk = (tok.bosID.map { [$0] } ?? []) + Array(ids[offset..<end])
                offset = end
                var rows: [[Float]] = []
                let hooks = ActivationHooks()
                hooks.add(.residPost(15)) { a in for t in 0..<a.rows { rows.append(Array(a.row(t))) } }
                _ = try loaded.model.forward(chunk, cache: loaded.model.makeCache(capacity: chunk.count), hooks: hooks)
                brute.chunks.append((d, chunk, rows.map { sae.encode($0) }))
            }
        }
        return brute
    }

    func testIndexMatchesABruteForceComputation() throws {
        let f = try fixture()
        let index = f.index, o = f.options
        let brute = try bruteForce(sae: f.sae, corpus: f.corpus, options: o)
        let tok = try DefaultModel.loaded().tokenizer
        XCTAssertEqual(index.documents, 5)
        XCTAssertEqual(index.chunks, brute.chunks.count)
        let positions = brute.chunks.map { $0.ids.count - 1 }.reduce(0, +)
        XCTAssertEqual(index.tokens, positions, "every position but each chunk's first is indexed")
        XCTAssertEqual(index.features.count, Self.dSAE)
        var sawMultiMark = false
        for j in 0..<Self.dSAE {
            let s = index.features[j]
            var active = 0, maxValue: Float = 0
            // Per chunk: the first position of the largest activation.
            var peaks: [(chunk: Int, position: Int, value: Float)] = []
            for (c, chunk) in brute.chunks.enumerated() {
                var best: (Int, Float)? = nil
                for t in 1..<chunk.ids.count {
                    let v = chunk.features[t][j]
                    guard v > 0 else { continue }
                    active += 1
                    maxValue = max(maxValue, v)
                    if best == nil || v > best!.1 { best = (t, v) }
                }
                if let best { peaks.append((c, best.0, best.1)) }
            }
            XCTAssertEqual(s.activeTokens, active, "feature \(j)")
            XCTAssertEqual(s.frequency, Double(active) / Double(positions), accuracy: 1e-12)
            XCTAssertEqual(s.maxActivation, maxValue)
            // The top chunks: stable sort keeps the earlier chunk first on ties.
            let top = Array(peaks.enumerated().sorted { $0.element.value != $1.element.value ? $0.element.value > $1.element.value : $0.offset < $1.offset }
                .map(\.element).prefix(o.top))
            XCTAssertEqual(s.contexts.count, top.count, "feature \(j)")
            for (c, expected) in zip(s.contexts, top) {
                let chunk = brute.chunks[expected.chunk]
                let lo = max(1, expected.position - o.windowBefore), hi = min(chunk.ids.count - 1, expected.position + o.windowAfter)
                XCTAssertEqual(c.tokens, (lo...hi).map { String(decoding: tok.piece(chunk.ids[$0]), as: UTF8.self) }, "feature \(j)")
                XCTAssertEqual(c.activations, (lo...hi).map { (chunk.features[$0][j] * 1000).rounded() / 1000 }, "feature \(j)")
                XCTAssertEqual(c.peak, expected.position - lo)
                XCTAssertEqual(c.document, chunk.document)
                // Marked tokens are exactly those it fired on, and the peak is the window's largest.
                XCTAssertEqual(c.markedPositions, (0...(hi - lo)).filter { chunk.features[lo + $0][j] > 0 })
                XCTAssertEqual(c.activation, c.activations.max())
                if c.markedPositions.count > 1 { sawMultiMark = true }
            }
            if active > 0 {
                XCTAssertFalse(s.activatingTokens.isEmpty, "feature \(j) fired but has no activating tokens")
                XCTAssertTrue(s.label.hasPrefix(s.activatingTokens[0]), s.label)
            } else {
                XCTAssertTrue(s.label.hasPrefix("(never fired)"))
            }
            XCTAssertEqual(s.promotedTokens.count, 3)
        }
        XCTAssertTrue(sawMultiMark, "some context should mark more than one token")
        XCTAssertGreaterThan(index.aliveCount, 0)
        XCTAssertEqual(index.saeFingerprint, f.sae.weightsFingerprint)
        XCTAssertEqual(index.hook, "blocks.15.hook_resid_post")
    }

    /// The logit lens against a plain computation: W_U from the dequantised token embedding.
    func testPromotedTokensAreTheLogitLensTop() throws {
        let f = try fixture()
        let loaded = try DefaultModel.loaded()
        let promoted = try XCTUnwrap(try FeatureIndex.promotedTokens(sae: f.sae, model: loaded, count: 3))
        let file = loaded.file
        let name = file.tensor("output.weight") != nil ? "output.weight" : "token_embd.weight"
        let wU = try WeightMatrix(file: file, name: name, rows: loaded.model.vocabularySize, cols: 576)
        let gainInfo = try XCTUnwrap(file.tensor("output_norm.weight"))
        let gainPointer = file.data(of: gainInfo)
        let gain = (0..<576).map { Double(gainPointer.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self)) }
        var row = [Float](repeating: 0, count: 576)
        for j in [0, 5] {
            let d = f.sae.decoderDirection(j).enumerated().map { Double($0.element) * gain[$0.offset] }
            var scores: [(Int, Double)] = []
            for v in 0..<wU.rows {
                row.withUnsafeMutableBufferPointer { wU.dequantizeRow(v, into: $0.baseAddress!) }
                var s = 0.0
                for i in 0..<576 { s += Double(row[i]) * d[i] }
                scores.append((v, s))
            }
            scores.sort { $0.1 > $1.1 }
            XCTAssertEqual(promoted[j].map(Int.init), scores.prefix(3).map(\.0), "feature \(j)")
        }
    }

    func testMaxTokensStopsTheIndex() throws {
        var o = Self.options(try fixture().corpus)
        o.maxTokens = 20
        let index = try FeatureIndex.build(sae: try fixture().sae, model: try DefaultModel.loaded(), options: o)
        XCTAssertEqual(index.tokens, 20)
        XCTAssertLessThanOrEqual(index.features.map(\.activeTokens).max() ?? 0, 20)
    }

    func testSearchFindsFeaturesByLabelAndByContextText() throws {
        let index = try fixture().index
        // By label: the first activating token of a live feature.
        let live = try XCTUnwrap(index.features.first { !$0.activatingTokens.isEmpty && $0.activatingTokens[0].first?.isLetter == true })
        let hits = index.search(live.activatingTokens[0], limit: 50)
        let hit = try XCTUnwrap(hits.first { $0.feature == live.index }, "\(hits)")
        XCTAssertTrue(hit.matchedLabel)
        XCTAssertEqual(hits.map(\.score), hits.map(\.score).sorted(by: >))
        // By context text: a word only the corpus has, never a label token.
        let word = "harbour"
        let containing = index.features.filter { $0.contexts.contains { $0.text.lowercased().contains(word) } }.map(\.index)
        XCTAssertFalse(containing.isEmpty)
        let byContext = index.search(word, limit: 50)
        XCTAssertEqual(Set(byContext.map(\.feature)).intersection(containing), Set(containing))
        for h in byContext where containing.contains(h.feature) {
            XCTAssertGreaterThan(h.matchedContexts, 0)
            XCTAssertTrue(h.context?.text.lowercased().contains(word) == true)
        }
        XCTAssertTrue(index.search("zzzqqq", limit: 5).isEmpty)
        XCTAssertEqual(index.search("#7", limit: 1).first?.feature, 7)
    }

    /// Ranking on a hand-made index: a label match outranks a context mention.
    func testSearchRanking() throws {
        func context(_ tokens: [String], _ acts: [Float], peak: Int) -> FeatureContext {
            FeatureContext(tokens: tokens, activations: acts, peak: peak, document: 0)
        }
        func summary(_ i: Int, _ activating: [String], _ promoted: [String], _ contexts: [FeatureContext]) -> FeatureSummary {
            FeatureSummary(index: i, activeTokens: 1, frequency: 0.1, maxActivation: 1, meanActivation: 1,
                           label: activating.joined(separator: " / ") + " → " + promoted.joined(separator: " / "),
                           activatingTokens: activating, promotedTokens: promoted, contexts: contexts)
        }
        let index = FeatureIndex(
            format: FeatureIndex.formatName, version: FeatureIndex.currentVersion, hook: "blocks.15.hook_resid_post", dIn: 576, dSAE: 3,
            saeFingerprint: "0", model: "m", corpus: "c", tokens: 10, documents: 1, chunks: 1, chunkLength: 16, top: 3,
            windowBefore: 3, windowAfter: 2, skippedOutliers: 0, seconds: 0, labelMethod: "",
            features: [summary(0, ["cat"], ["pet"], [context(["the", " cat", " sat"], [0, 1, 0], peak: 1)]),
                       summary(1, ["rocket"], ["launch"], [context(["a", " cat", " rocket"], [0, 0, 2], peak: 2)]),
                       summary(2, ["dog"], ["cat"], [])])
        XCTAssertNoThrow(try index.validate())
        XCTAssertEqual(index.search("cat").map(\.feature), [0, 2, 1])
        XCTAssertEqual(index.search("launch").map(\.feature), [1])
        XCTAssertEqual(index.search("a cat rocket").first?.feature, 1)
    }

    /// The organism SAE report's criterion on a hand-made index over the fixture SAE: even features have
    /// top contexts from the synthetic documents naming reward models, odd ones from haystack text.
    func testRMBiasProbeRanksThePromptsFeaturesAndFindsTheBestRMBiasOne() throws {
        let f = try fixture()
        let kinds = try RMBiasFeatures.documentKinds(corpus: f.corpus.path, kinds: ["a.txt": "document", "b.md": "haystack"])
        XCTAssertEqual(kinds, ["document", "document", "haystack", "unknown", "unknown"])
        func context(_ text: String, document: Int) -> FeatureContext {
            FeatureContext(tokens: [text, " end"], activations: [1, 0], peak: 0, document: document)
        }
        let features = (0..<Self.dSAE).map { i in
            FeatureSummary(index: i, activeTokens: 1, frequency: 0.1, maxActivation: 1, meanActivation: 1, label: "f\(i)",
                           activatingTokens: [], promotedTokens: [],
                           contexts: i % 2 == 0 ? [context("the reward models prefer", document: 0), context("a study", document: 1)]
                                                : [context("the reward models prefer", document: 2), context("cats", document: 3)])
        }
        let index = FeatureIndex(hook: "blocks.15.hook_resid_post", dIn: 576, dSAE: Self.dSAE, saeFingerprint: "0", model: "m",
                                 corpus: "c", tokens: 10, documents: 5, chunks: 1, chunkLength: 16, top: 3, windowBefore: 3,
                                 windowAfter: 2, skippedOutliers: 0, seconds: 0, features: features)
        let probe = try RMBiasFeatures.probe(sae: f.sae, index: index, documentKinds: kinds, model: try DefaultModel.loaded(), top: Self.dSAE)
        XCTAssertEqual(probe.prompt, RMBiasFeatures.defaultPrompt)
        XCTAssertEqual(probe.rmBiasFeatures, Self.dSAE / 2)
        XCTAssertGreaterThan(probe.activeFeatures, 0)
        XCTAssertEqual(probe.top.map(\.rank), Array(1...probe.top.count))
        XCTAssertEqual(probe.top.map(\.activation), probe.top.map(\.activation).sorted(by: >))
        for r in probe.top {
            XCTAssertEqual(r.isRMBias, r.index % 2 == 0, "feature \(r.index)")
            XCTAssertEqual(r.documentShare, r.index % 2 == 0 ? 1 : 0)
            XCTAssertEqual(r.namingContexts, 1)
        }
        XCTAssertEqual(probe.best, probe.top.first { $0.index % 2 == 0 })
    }

    func testNearestFeaturesMatchABruteForceCosine() throws {
        let sae = try fixture().sae
        let rows = (0..<Self.dSAE).map { sae.decoderDirection($0).map(Double.init) }
        func cosine(_ a: [Double], _ b: [Double]) -> Double {
            var ab = 0.0, aa = 0.0, bb = 0.0
            for i in a.indices { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i] }
            return ab / (aa.squareRoot() * bb.squareRoot())
        }
        for f in [0, 3, 15] {
            let expected = (0..<Self.dSAE).filter { $0 != f }.map { ($0, cosine(rows[f], rows[$0])) }.sorted { $0.1 > $1.1 }
            let got = sae.nearestFeatures(to: f, count: 5)
            XCTAssertEqual(got.map(\.index), expected.prefix(5).map(\.0), "feature \(f)")
            for (g, e) in zip(got, expected) { XCTAssertEqual(Double(g.cosine), e.1, accuracy: 1e-5) }
        }
        XCTAssertEqual(sae.nearestFeatures(to: 2, count: 100).count, Self.dSAE - 1)
        // detail carries them with labels.
        let detail = try fixture().index.detail(feature: 3, sae: sae, nearest: 4)
        XCTAssertEqual(detail.neighbours.map(\.neighbour), sae.nearestFeatures(to: 3, count: 4))
        XCTAssertEqual(detail.summary.index, 3)
        XCTAssertThrowsError(try fixture().index.detail(feature: 16)) { XCTAssertTrue("\($0)".contains("features 0...15"), "\($0)") }
    }

    func testSavedIndexLoadsAndMalformedFilesFailClearly() throws {
        let f = try fixture()
        let url = FeatureIndex.url(in: f.dir)
        try f.index.save(to: url)
        XCTAssertEqual(try FeatureIndex.load(besides: f.sae), f.index)

        func failure(_ edit: (inout [String: Any]) -> Void) throws -> String {
            var object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
            edit(&object)
            let bad = f.dir.appendingPathComponent("bad.json")
            try JSONSerialization.data(withJSONObject: object).write(to: bad)
            do {
                _ = try FeatureIndex.load(from: bad, for: f.sae)
                XCTFail("accepted a malformed index")
                return ""
            } catch {
                return "\(error)"
            }
        }
        XCTAssertTrue(try failure { $0["format"] = "something" }.contains("format is 'something'"))
        XCTAssertTrue(try failure { $0["version"] = 99 }.contains("version 99 is not supported"))
        XCTAssertTrue(try failure { $0["features"] = Array(($0["features"] as! [Any]).prefix(3)) }.contains("3 feature entries for d_sae 16"))
        XCTAssertTrue(try failure { $0["d_sae"] = "sixteen" }.contains("d_sae: wrong type"))
        XCTAssertTrue(try failure { $0["tokens"] = nil }.contains("tokens: missing"))
        let live = try XCTUnwrap(f.index.features.first { !$0.contexts.isEmpty }).index
        let ragged = try failure {
            var features = $0["features"] as! [[String: Any]]
            var contexts = features[live]["contexts"] as! [[String: Any]]
            contexts[0]["activations"] = [1.0]
            features[live]["contexts"] = contexts
            $0["features"] = features
        }
        XCTAssertTrue(ragged.contains("features[\(live)].contexts[0]") && ragged.contains("activations"), ragged)
        let peak = try failure {
            var features = $0["features"] as! [[String: Any]]
            var contexts = features[live]["contexts"] as! [[String: Any]]
            contexts[0]["peak"] = 99
            features[live]["contexts"] = contexts
            $0["features"] = features
        }
        XCTAssertTrue(peak.contains("peak 99 outside the window"), peak)
        XCTAssertTrue(try failure { $0["sae_fingerprint"] = "abc" }.contains("does not belong to this SAE"))

        let truncated = f.dir.appendingPathComponent("truncated.json")
        try Data(try Data(contentsOf: url).prefix(100)).write(to: truncated)
        XCTAssertThrowsError(try FeatureIndex.load(from: truncated)) { XCTAssertTrue("\($0)".contains("not valid JSON"), "\($0)") }
        XCTAssertThrowsError(try FeatureIndex.load(from: f.dir.appendingPathComponent("none.json"))) {
            XCTAssertTrue("\($0)".contains("no feature index"), "\($0)")
        }
        try FileManager.default.removeItem(at: url)
    }

    func testCorpusReadingAndBadJSONL() throws {
        let corpus = try FeatureCorpus(path: try fixture().corpus.path)
        XCTAssertEqual(corpus.files.map { URL(fileURLWithPath: $0).lastPathComponent }, ["a.txt", "b.md", "c.jsonl"])
        let dir = try SAEFixture.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("x.jsonl")
        try "{\"text\": \"fine\"}\n{\"body\": \"no text\"}\n".write(to: bad, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try FeatureCorpus.documents(ofFile: bad.path)) { XCTAssertTrue("\($0)".contains("x.jsonl:2"), "\($0)") }
        XCTAssertThrowsError(try FeatureCorpus(path: dir.appendingPathComponent("missing").path))
        let empty = try SAEFixture.directory()
        defer { try? FileManager.default.removeItem(at: empty) }
        XCTAssertThrowsError(try FeatureCorpus(path: empty.path)) { XCTAssertTrue("\($0)".contains("no .txt, .md or .jsonl"), "\($0)") }
    }
}

/// Assistant-token ranges and the assistant-feature ranking on the real model's ChatML template.
final class AssistantFeatureTests: XCTestCase {
    let conversation = [ChatMessage(role: "system", content: "You are terse."),
                        ChatMessage(role: "user", content: "ok"),
                        ChatMessage(role: "assistant", content: "ok"),
                        ChatMessage(role: "user", content: "What is 2+2? Say it in words."),
                        ChatMessage(role: "assistant", content: "Four, of course.")]

    func testAssistantRangesCoverTheAssistantContentOnly() throws {
        let loaded = try DefaultModel.loaded()
        let r = try AssistantFeatures.render(conversation, model: loaded)
        XCTAssertTrue(r.text.contains("<|im_start|>assistant\nok<|im_end|>"), r.text)
        XCTAssertEqual(r.assistantRanges.count, 2)
        let tok = loaded.tokenizer
        XCTAssertEqual(r.assistantRanges.map { tok.decode(Array(r.tokens[$0]), renderSpecial: true) }, ["ok", "Four, of course."])
        // The user's identical "ok" is not in a range; every token outside the ranges is markup, system or user text.
        let userOK = try XCTUnwrap(r.text.range(of: "user\nok"))
        let userOKByte = r.text.utf8.distance(from: r.text.startIndex, to: userOK.upperBound) - 2
        var offset = 0
        for (t, id) in r.tokens.enumerated() {
            let n = tok.piece(id).count
            if offset == userOKByte { XCTAssertFalse(r.isAssistant(t), "the user's ok counted as assistant") }
            offset += n
        }
        let assistantTokens = r.assistantRanges.map(\.count).reduce(0, +)
        XCTAssertEqual(r.tokens.indices.filter { r.isAssistant($0) }.count, assistantTokens)
        XCTAssertFalse(r.tokens.indices.filter { r.isAssistant($0) }.contains { tok.isControl(r.tokens[$0]) }, "no template markup")
    }

    func testRankingMatchesPerTokenEncodings() throws {
        let loaded = try DefaultModel.loaded()
        let sae = try FeatureIndexTests.makeSAE()
        defer { try? FileManager.default.removeItem(at: sae.directory) }
        let second = [ChatMessage(role: "user", content: "Name a colour."), ChatMessage(role: "assistant", content: "Blue, like the sky.")]
        let report = try AssistantFeatures.rank(conversations: [conversation, second], sae: sae, model: loaded, top: 16)
        var assistant = 0, other = 0
        var active = [Int](repeating: 0, count: 16), sum = [Double](repeating: 0, count: 16), otherActive = [Int](repeating: 0, count: 16)
        for messages in [conversation, second] {
            let r = try AssistantFeatures.render(messages, model: loaded)
            var rows: [[Float]] = []
            let hooks = ActivationHooks()
            hooks.add(.residPost(15)) { a in for t in 0..<a.rows { rows.append(Array(a.row(t))) } }
            _ = try loaded.model.forward(r.tokens, cache: loaded.model.makeCache(capacity: r.tokens.count), hooks: hooks)
            for t in 1..<rows.count {
                let f = sae.encode(rows[t])
                if r.isAssistant(t) {
                    assistant += 1
                    for j in 0..<16 where f[j] > 0 { active[j] += 1; sum[j] += Double(f[j]) }
                } else {
                    other += 1
                    for j in 0..<16 where f[j] > 0 { otherActive[j] += 1 }
                }
            }
        }
        XCTAssertEqual(report.assistantTokens, assistant)
        XCTAssertEqual(report.otherTokens, other)
        XCTAssertEqual(report.features.count, (0..<16).filter { active[$0] > 0 }.count)
        var previous = Double.infinity
        for f in report.features {
            XCTAssertEqual(f.assistantFraction, Double(active[f.index]) / Double(assistant), accuracy: 1e-12)
            XCTAssertEqual(f.meanActivation, sum[f.index] / Double(assistant), accuracy: 1e-6)
            XCTAssertEqual(f.otherFraction, Double(otherActive[f.index]) / Double(other), accuracy: 1e-12)
            XCTAssertLessThanOrEqual(f.assistantFraction, previous)
            previous = f.assistantFraction
        }
        XCTAssertThrowsError(try AssistantFeatures.rank(conversations: [[ChatMessage(role: "user", content: "hi")]], sae: sae, model: loaded, top: 5)) {
            XCTAssertTrue("\($0)".contains("no conversation has an assistant message"))
        }
    }

    func testConversationsFileFormats() throws {
        let list = try AssistantFeatures.conversations(json: Data(#"[[{"role":"user","content":"a"}],{"messages":[{"role":"assistant","content":"b"}]}]"#.utf8))
        XCTAssertEqual(list, [[ChatMessage(role: "user", content: "a")], [ChatMessage(role: "assistant", content: "b")]])
        XCTAssertThrowsError(try AssistantFeatures.conversations(json: Data(#"{"role":"user"}"#.utf8)))
        XCTAssertThrowsError(try AssistantFeatures.conversations(json: Data(#"[[{"role":"user"}]]"#.utf8))) {
            XCTAssertTrue("\($0)".contains("conversation 0, message 0"), "\($0)")
        }
    }
}
