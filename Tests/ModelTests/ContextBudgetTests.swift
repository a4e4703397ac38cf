import Model
import TestSupport
import XCTest

/// A file may claim any context_length: the default context is capped so the KV cache fits the
/// memory budget, and the real caches of a sliding-window model cost only their rings.
final class ContextBudgetTests: XCTestCase {
    final class ClaimsHugeContext: LanguageModel, @unchecked Sendable {
        var architecture: String { "test" }
        var vocabularySize: Int { 4 }
        var trainedContextLength: Int { 1 << 24 }
        var layerCount: Int { 1 }
        var embeddingLength: Int { 4 }
        func makeCache(capacity: Int) -> KVCache { KVCache(layers: 1, capacity: capacity, width: 1) }
        func cacheBytes(capacity: Int) -> Int { capacity * (1 << 20) }  // 1 MiB a position
        func forward(_ tokens: UnsafeBufferPointer<TokenID>, cache: KVCache, hooks: ActivationHooks?) throws -> UnsafeBufferPointer<Float> {
            throw EngineError.emptyInput
        }
    }

    func testDefaultContextIsCappedToTheBudget() {
        XCTAssertEqual(LoadedModel.contextLimit(ClaimsHugeContext(), budget: 1 << 30), 1024)
        XCTAssertEqual(LoadedModel.contextLimit(ClaimsHugeContext(), budget: 1 << 40), 1 << 20)
    }

    func testGemma3SlidingLayersCostOnlyTheirRings() throws {
        let file = try GGUFFile(path: try Gemma3Model.require())
        let model = try TransformerModel.load(file: file, pool: WorkerPool(threads: 1))
        // 18 layers of 256 KV values (1 head of 256); 15 of them slide over 512 positions.
        let full = 32768 * 256 * 2 * 2
        XCTAssertEqual(model.cacheBytes(capacity: 32768), 3 * full + 15 * (512 + 512) * 256 * 2 * 2)
        let cache = model.makeCache(capacity: 32768)
        XCTAssertEqual(cache.bytes, model.cacheBytes(capacity: 32768))
        XCTAssertEqual(cache.cells[0], 1024)
        XCTAssertEqual(cache.cells[5], 32768)
    }

    /// Past the window, a ring that has wrapped gives the same logits as a cache that keeps every
    /// position (the window is applied by the attention either way); a truncation that the ring
    /// cannot serve empties it instead of reading overwritten cells.
    func testSlidingWindowRingMatchesAFullCacheAfterWrapping() throws {
        let file = try GGUFFile(path: try Gemma3Model.require())
        let model = try TransformerModel.load(file: file, pool: WorkerPool(threads: 2))
        let ids = (0..<1100).map { TokenID(1000 + ($0 * 7919) % 20000) }
        let ring = model.makeCache(capacity: 1200)
        XCTAssertEqual(ring.cells[0], 1024, "a ring of window + batch cells")
        let full = KVCache(capacity: 1200, width: ring.width, windows: [Int](repeating: 0, count: ring.layers), maxBatch: 0)
        let a = Array(try model.forward(ids, cache: ring))
        let b = Array(try model.forward(ids, cache: full))
        XCTAssertEqual(a, b, "ring and full cache disagree after \(ids.count) tokens")
        let c = Array(try model.forward([42], cache: ring))
        let d = Array(try model.forward([42], cache: full))
        XCTAssertEqual(c, d, "decode after wrapping")

        ring.truncate(to: 1100)
        XCTAssertEqual(ring.count, 1100, "the last position's window is still in the ring")
        ring.truncate(to: 100)
        XCTAssertEqual(ring.count, 0, "position 100's window was overwritten: nothing kept")
    }
}

/// A real file with its context_length rewritten: 2^24 loads with the context capped to memory and
/// a note naming the key; a value past the bound is refused with the key's name, never an
/// allocation of hundreds of gigabytes or a trap.
final class HostileContextLengthTests: XCTestCase {
    /// A copy of the default model whose `llama.context_length` (a u32) is `value`.
    func copy(withContextLength value: UInt32) throws -> String {
        _ = try DefaultModel.file()
        var data = try Data(contentsOf: URL(fileURLWithPath: DefaultModel.path))
        let key = Array("llama.context_length".utf8)
        guard let at = data.range(of: Data(key)) else { throw XCTSkip("no context_length key") }
        // key bytes, then the value type (u32 = 4), then the value.
        let typeAt = at.upperBound
        XCTAssertEqual(data[typeAt], 4, "value type u32")
        withUnsafeBytes(of: value.littleEndian) { data.replaceSubrange((typeAt + 4)..<(typeAt + 8), with: $0) }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ctx-\(value)-\(UUID().uuidString).gguf").path
        try data.write(to: URL(fileURLWithPath: path))
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testHugeContextLengthIsCappedWithANote() throws {
        let loaded = try LoadedModel(path: try copy(withContextLength: 1 << 24), threads: 1)
        XCTAssertEqual(loaded.model.trainedContextLength, 1 << 24)
        XCTAssertLessThan(loaded.defaultContext, 1 << 24)
        XCTAssertLessThanOrEqual(loaded.model.cacheBytes(capacity: loaded.defaultContext), LoadedModel.cacheBudget)
        let note = try XCTUnwrap(loaded.contextNote)
        XCTAssertTrue(note.contains("llama.context_length") && note.contains("--context"), note)
        let generator = Generator(model: loaded)
        XCTAssertEqual(generator.contextLength, loaded.defaultContext)
    }

    func testContextLengthPastTheBoundIsRefusedByName() throws {
        XCTAssertThrowsError(try LoadedModel(path: try copy(withContextLength: .max), threads: 1)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("llama.context_length") && text.contains("4294967295"), text)
        }
    }
}
