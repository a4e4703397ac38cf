import Foundation
import Model
import TestSupport
import XCTest

/// Residual-stream activations against transformers on the same dequantised weights (float32):
/// they round differently from our quantised path, so the bar is cosine similarity >= 0.99.
final class ActivationTests: XCTestCase {
    struct Reference: Decodable {
        let layers: [Int]
        let cases: [[String: Value]]
        enum Value: Decodable {
            case text(String), ids([Int32]), vectors([String: [Float]])
            init(from decoder: Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let s = try? c.decode(String.self) { self = .text(s) }
                else if let i = try? c.decode([Int32].self) { self = .ids(i) }
                else { self = .vectors(try c.decode([String: [Float]].self)) }
            }
        }
    }

    func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for i in a.indices { dot += Double(a[i] * b[i]); na += Double(a[i] * a[i]); nb += Double(b[i] * b[i]) }
        return dot / (na.squareRoot() * nb.squareRoot())
    }

    func testResidualStreamMatchesTransformers() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/smollm2-activations", withExtension: "json"))
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
        let file = try DefaultModel.file()
        let model = try TransformerModel.load(file: file, pool: WorkerPool(threads: 2))
        var checked = 0
        for c in reference.cases {
            guard case .ids(let ids)? = c["input_ids"] else { XCTFail("case without input_ids"); continue }
            let hooks = ActivationHooks()
            var captured: [Int: [[Float]]] = [:]
            for l in reference.layers {
                hooks.add(.residPost(l)) { a in captured[l] = (0..<a.rows).map { Array(a.row($0)) } }
            }
            _ = try model.forward(ids, cache: model.makeCache(capacity: ids.count), hooks: hooks)
            for l in reference.layers {
                guard case .vectors(let ref)? = c[HookPoint.residPost(l).name] else { XCTFail("no reference for layer \(l)"); continue }
                let rows = try XCTUnwrap(captured[l])
                XCTAssertEqual(rows.count, ids.count)
                let last = rows.last!
                let mean = (0..<last.count).map { i in rows.reduce(Float(0)) { $0 + $1[i] } / Float(rows.count) }
                for (name, mine) in [("last", last), ("mean", mean)] {
                    let theirs = try XCTUnwrap(ref[name])
                    let cos = cosine(mine, theirs)
                    XCTAssertGreaterThanOrEqual(cos, 0.99, "layer \(l) \(name): cosine \(cos) for \(ids.prefix(5))...")
                    checked += 1
                }
            }
        }
        XCTAssertEqual(checked, 30)
    }

    func testHooksCanSteerAndCostNothingWhenAbsent() throws {
        let file = try DefaultModel.file()
        let model = try TransformerModel.load(file: file, pool: WorkerPool(threads: 2))
        let ids: [Int32] = [12615, 36411, 418]
        let plain = Array(try model.forward(ids, cache: model.makeCache(capacity: 8)))
        // An empty hook set, and a reader, change nothing.
        XCTAssertEqual(Array(try model.forward(ids, cache: model.makeCache(capacity: 8), hooks: ActivationHooks())), plain)
        let reader = ActivationHooks()
        var seen = 0
        reader.add(.residPre(3)) { a in seen += a.rows }
        XCTAssertEqual(Array(try model.forward(ids, cache: model.makeCache(capacity: 8), hooks: reader)), plain)
        XCTAssertEqual(seen, 3)
        // Adding a vector to the residual stream changes the output.
        let writer = ActivationHooks()
        writer.add(.residPost(15)) { a in for t in 0..<a.rows { for i in 0..<a.width { a.values[t * a.width + i] += 4 } } }
        XCTAssertNotEqual(Array(try model.forward(ids, cache: model.makeCache(capacity: 8), hooks: writer)), plain)
        // Hooks belong to the call: the next plain pass is plain again.
        XCTAssertEqual(Array(try model.forward(ids, cache: model.makeCache(capacity: 8))), plain)
    }

    func testHookNamesRoundTrip() {
        for p in [HookPoint.residPre(0), .residPost(29), .attnOut(7), .mlpOut(15)] {
            XCTAssertEqual(HookPoint(name: p.name), p)
        }
        XCTAssertNil(HookPoint(name: "blocks.x.hook_resid_post"))
        XCTAssertNil(HookPoint(name: "blocks.3.hook_q"))
        XCTAssertNil(HookPoint(name: "blocks.-1.hook_resid_pre"))
    }
}
