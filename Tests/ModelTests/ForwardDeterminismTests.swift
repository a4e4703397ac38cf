import Model
import TestSupport
import XCTest

/// The same tokens give bit-identical logits on every run and for any thread count: each output
/// row is computed by one thread in a fixed order, so scheduling cannot change the numbers.
final class ForwardDeterminismTests: XCTestCase {
    func testLogitsAreIdenticalAcrossRunsAndThreadCounts() throws {
        let file = try DefaultModel.file()
        let ids: [Int32] = [2017, 6772, 347, 2333, 198, 2017, 14671, 30, 20682, 347, 7088, 198]
        var reference: [Float]? = nil
        for threads in [1, 2, 3, 2] {
            let model = try TransformerModel.load(file: file, pool: WorkerPool(threads: threads))
            let cache = model.makeCache(capacity: 64)
            // Prefill all but the last token in one batch, then step: exercises both paths.
            _ = try model.forward(Array(ids.dropLast()), cache: cache)
            let logits = Array(try model.forward([ids.last!], cache: cache))
            if let reference {
                let i = (0..<logits.count).first { logits[$0].bitPattern != reference[$0].bitPattern }
                XCTAssertNil(i, "threads \(threads): logit \(i ?? -1) is \(i.map { logits[$0] } ?? 0), was \(i.map { reference[$0] } ?? 0)")
            } else {
                reference = logits
            }
        }
    }
}
