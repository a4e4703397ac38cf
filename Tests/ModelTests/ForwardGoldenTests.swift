import Model
import TestSupport
import XCTest

/// The forward pass against llama.cpp's logits and greedy continuations for the same file.
final class ForwardGoldenTests: XCTestCase {
    func testTopLogitsAndGreedyMatchLlamaCpp() throws {
        let golden = try Golden.load()
        let file = try DefaultModel.file()
        let model = try TransformerModel.load(file: file, pool: WorkerPool(threads: 2))
        var greedyMismatches: [String] = []
        for g in golden.generate {
            let cache = model.makeCache(capacity: 512)
            let logits = try model.forward(g.input_ids, cache: cache)
            let top = topK(logits, 10)
            XCTAssertEqual(top.first?.0, g.top10_first.first, "top-1 differs for \(g.prompt.debugDescription): got \(top.map(\.0)), llama.cpp \(g.top10_first)")
            // Logits of llama.cpp's top tokens agree to a small tolerance.
            for (id, ref) in zip(g.top10_first, g.first_logits_top10) {
                let mine = logits[Int(id)]
                XCTAssertEqual(mine, ref, accuracy: 0.35, "logit of token \(id) for \(g.prompt.debugDescription)")
            }
            // Greedy continuation: the first 16 tokens.
            var out: [Int32] = []
            var next = Int32(top[0].0)
            let limit = min(16, g.greedy_ids.count)
            while out.count < limit {
                out.append(next)
                if next == 2 { break }
                next = Int32(topK(try model.forward([next], cache: cache), 1)[0].0)
            }
            let expected = Array(g.greedy_ids.prefix(limit))
            if out != expected {
                let i = (0..<min(out.count, expected.count)).first { out[$0] != expected[$0] } ?? min(out.count, expected.count)
                greedyMismatches.append("\(g.prompt.debugDescription): first difference at token \(i): got \(out), llama.cpp \(expected)")
            }
        }
        for m in greedyMismatches { print("greedy mismatch:", m) }
        XCTAssertLessThanOrEqual(greedyMismatches.count, 1, greedyMismatches.joined(separator: "\n"))
    }

    private func topK(_ logits: UnsafeBufferPointer<Float>, _ k: Int) -> [(Int32, Float)] {
        var best: [(Int32, Float)] = []
        for (i, v) in logits.enumerated() where best.count < k || v > best.last!.1 {
            best.append((Int32(i), v))
            best.sort { $0.1 > $1.1 }
            if best.count > k { best.removeLast() }
        }
        return best
    }
}
