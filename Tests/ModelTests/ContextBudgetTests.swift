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
        var hooks: ActivationHooks?
        func makeCache(capacity: Int) -> KVCache { KVCache(layers: 1, capacity: capacity, width: 1) }
        func cacheBytes(capacity: Int) -> Int { capacity * (1 << 20) }  // 1 MiB a position
        func forward(_ tokens: UnsafeBufferPointer<TokenID>, cache: KVCache) throws -> UnsafeBufferPointer<Float> {
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
