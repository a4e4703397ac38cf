import Model
import TestSupport
import XCTest

/// Stricter than ForwardGoldenTests: the engine reproduces the AVX-512 llama.cpp build's arithmetic
/// (attention lane order, soft_max and SwiGLU exp, RoPE fma), so every golden top-10 logit agrees
/// to 1e-3 and every greedy continuation agrees in full. Holds on the AVX2 and the portable path.
final class ForwardGoldenExactTests: XCTestCase {
    func testTopLogitsAndFullGreedyMatchExactly() throws {
        let golden = try Golden.load()
        let file = try DefaultModel.file()
        let model = try TransformerModel.load(file: file, pool: WorkerPool(threads: 2))
        for g in golden.generate {
            let cache = model.makeCache(capacity: 512)
            let logits = try model.forward(g.input_ids, cache: cache)
            for (id, ref) in zip(g.top10_first, g.first_logits_top10) {
                XCTAssertEqual(logits[Int(id)], ref, accuracy: 1e-3, "logit of token \(id) for \(g.prompt.debugDescription)")
            }
            var out: [Int32] = []
            var next = argmax(logits)
            while out.count < g.greedy_ids.count {
                out.append(next)
                if next == 2 { break }
                next = argmax(try model.forward([next], cache: cache))
            }
            XCTAssertEqual(out, Array(g.greedy_ids.prefix(out.count)), "greedy continuation of \(g.prompt.debugDescription)")
            XCTAssertEqual(out.count, g.greedy_ids.count, "greedy continuation of \(g.prompt.debugDescription) ended early")
        }
    }

    private func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
        var best = 0
        for i in 1..<logits.count where logits[i] > logits[best] { best = i }
        return Int32(best)
    }
}
