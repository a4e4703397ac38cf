import Foundation
import Model
import XCTest

/// TopK SAE training on synthetic data with a known sparse dictionary.
final class SAETrainerTests: XCTestCase {
    let dIn = 32, atoms = 64, active = 3

    /// A dictionary of unit directions and a generator of x = offset + sum of `active` atoms with
    /// random magnitudes.
    struct Synthetic {
        let dIn: Int, atoms: Int, active: Int
        var dictionary: [[Float]] = []
        var offset: [Float] = []
        var rng: SplitMix64

        init(dIn: Int, atoms: Int, active: Int, seed: UInt64) {
            self.dIn = dIn; self.atoms = atoms; self.active = active
            rng = SplitMix64(seed: seed)
            for _ in 0..<atoms {
                var v = (0..<dIn).map { _ in rng.gaussian() }
                let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
                v = v.map { $0 / n }
                dictionary.append(v)
            }
            offset = (0..<dIn).map { _ in 0.3 * rng.gaussian() }
        }

        mutating func batch(_ rows: Int) -> [Float] {
            var out = [Float](repeating: 0, count: rows * dIn)
            for r in 0..<rows {
                for i in 0..<dIn { out[r * dIn + i] = offset[i] }
                var chosen = Set<Int>()
                while chosen.count < active { chosen.insert(Int(rng.next() % UInt64(atoms))) }
                for a in chosen {
                    let m = 0.5 + 2 * rng.unit()
                    for i in 0..<dIn { out[r * dIn + i] += m * dictionary[a][i] }
                }
            }
            return out.map { $0 * 7 }  // a scale far from 1, for the input normalisation
        }
    }

    func config(seed: UInt64 = 1) -> TopKSAETrainingConfig {
        var c = TopKSAETrainingConfig(dIn: dIn, dSAE: 128, k: 4)
        c.learningRate = 3e-3
        c.seed = seed
        c.deadWindow = 20_000
        c.threads = 2
        return c
    }

    func trained(steps: Int, data: inout Synthetic, seed: UInt64 = 1) -> TopKSAETrainer {
        var c = config(seed: seed)
        c.totalSteps = steps
        c.warmupSteps = 20
        let trainer = TopKSAETrainer(config: c, sample: data.batch(2048))
        for _ in 0..<steps { trainer.step(data.batch(256)) }
        return trainer
    }

    func testRecoversAKnownSparseDictionary() throws {
        var data = Synthetic(dIn: dIn, atoms: atoms, active: active, seed: 42)
        let start = Date()
        let trainer = trained(steps: 2500, data: &data)
        let seconds = Date().timeIntervalSince(start)
        var eval = TopKSAEEvaluation(dIn: dIn)
        trainer.evaluate(data.batch(4096), into: &eval)
        XCTAssertGreaterThan(eval.fve, 0.9, "held-out fve")
        XCTAssertLessThanOrEqual(eval.l0, 4.0001)
        print("2500 SAE training steps: \(String(format: "%.1f", seconds)) s")   // printed, not asserted: no timing in tests
        // Each true atom should have a decoder row pointing the same way.
        let rows = trainer.decoderRows
        var recovered = 0
        for atom in data.dictionary {
            var best: Float = -1
            for j in 0..<128 {
                var dot: Float = 0
                for i in 0..<dIn { dot += atom[i] * rows[j * dIn + i] }
                best = max(best, dot)
            }
            if best > 0.9 { recovered += 1 }
        }
        // Decoder rows stay unit length.
        for j in 0..<128 {
            let n = (0..<dIn).reduce(Float(0)) { $0 + rows[j * dIn + $1] * rows[j * dIn + $1] }
            XCTAssertEqual(n, 1, accuracy: 1e-4)
        }
        print("synthetic: fve \(eval.fve), l0 \(eval.l0), recovered \(recovered)/\(atoms), \(seconds) s, never fired \(trainer.neverFiredFraction)")
        XCTAssertGreaterThanOrEqual(recovered, atoms * 8 / 10, "recovered \(recovered) of \(atoms) atoms")
    }

    func testSavedSAELoadsWithIdenticalEncodings() throws {
        var data = Synthetic(dIn: dIn, atoms: atoms, active: active, seed: 7)
        let trainer = trained(steps: 200, data: &data)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sae-train-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try trainer.save(to: dir, hookName: "blocks.2.hook_resid_post", modelName: "synthetic", extra: ["training": ["fve": 0.5]])
        let sae = try SparseAutoencoder.load(directory: dir.path, expectedDIn: dIn)
        XCTAssertEqual(sae.architecture, .topk)
        XCTAssertEqual(sae.k, 4)
        XCTAssertEqual(sae.dSAE, 128)
        XCTAssertEqual(sae.hookPoint, .residPost(2))
        XCTAssertEqual(sae.modelName, "synthetic")
        XCTAssertEqual(sae.normalizeActivations, "expected_average_only_in")
        XCTAssertEqual(sae.inputScale, trainer.inputScale)
        XCTAssertNotEqual(trainer.inputScale, 1)
        let x = data.batch(50)
        for r in 0..<50 {
            let row = Array(x[(r * dIn)..<((r + 1) * dIn)])
            let a = trainer.encode(row), b = sae.encode(row)
            XCTAssertEqual(a, b, "row \(r)")
            XCTAssertEqual(a.filter { $0 > 0 }.count, 4)
            let ra = trainer.decode(a), rb = sae.decode(b)
            for i in 0..<dIn { XCTAssertEqual(ra[i], rb[i], accuracy: 1e-5 * max(1, abs(rb[i]))) }
        }
        let cfg = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("cfg.json"))) as? [String: Any])
        XCTAssertEqual(cfg["architecture"] as? String, "topk")
        XCTAssertEqual(cfg["dtype"] as? String, "float32")
        XCTAssertEqual(cfg["apply_b_dec_to_input"] as? Bool, true)
        XCTAssertNotNil(cfg["training"] as? [String: Any])
        // Nothing temporary left behind.
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        XCTAssertEqual(names, ["cfg.json", "sae_weights.safetensors"])
    }

    func testResumeContinuesTheRunExactly() throws {
        var data = Synthetic(dIn: dIn, atoms: atoms, active: active, seed: 9)
        let trainer = trained(steps: 30, data: &data)
        XCTAssertEqual(trainer.tokensSeen, 30 * 256)
        XCTAssertEqual(trainer.steps, 30)
        trainer.streamPosition = 12_345
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sae-resume-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try trainer.saveCheckpoint(to: dir, hookName: "blocks.2.hook_resid_post", modelName: "synthetic")
        XCTAssertTrue(TopKSAETrainer.hasCheckpoint(in: dir))
        let resumed = try TopKSAETrainer.resume(from: dir)
        XCTAssertEqual(resumed.tokensSeen, trainer.tokensSeen)
        XCTAssertEqual(resumed.steps, 30)
        XCTAssertEqual(resumed.streamPosition, 12_345)
        XCTAssertEqual(resumed.config, trainer.config)
        XCTAssertEqual(resumed.fireCount, trainer.fireCount)
        // The same batches give the same parameters: Adam state and counters came back.
        for _ in 0..<5 {
            let b = data.batch(256)
            let s1 = trainer.step(b), s2 = resumed.step(b)
            XCTAssertEqual(s1, s2)
        }
        XCTAssertEqual(resumed.tokensSeen, 35 * 256)
        XCTAssertEqual(resumed.decoderRows, trainer.decoderRows)
        XCTAssertEqual(resumed.encoderRowsTransposed, trainer.encoderRowsTransposed)
        XCTAssertThrowsError(try TopKSAETrainer.resume(from: dir.appendingPathComponent("missing")))
    }
}
