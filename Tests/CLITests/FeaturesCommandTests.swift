import Foundation
import TestSupport
import XCTest

/// `workbench features` on the real default model with tiny SAEs written here.
final class FeaturesCommandTests: XCTestCase {
    typealias Tensor = SAEFixture.Tensor

    let dIn = 576, dSAE = 16
    var wEnc: [Float] { SAEFixture.values(dIn * dSAE, seed: 1, modulus: 33, offset: 16, denom: 64) }
    var wDec: [Float] { SAEFixture.values(dSAE * dIn, seed: 2, modulus: 33, offset: 16, denom: 64) }
    var bEnc: [Float] { SAEFixture.values(dSAE, seed: 3, modulus: 33, offset: 16, denom: 64) }
    var bDec: [Float] { SAEFixture.values(dIn, seed: 4, modulus: 33, offset: 16, denom: 32) }

    func tensors(dIn: Int? = nil, dtype: String = "F32") -> [Tensor] {
        let d = dIn ?? self.dIn
        return [Tensor(name: "W_enc", dtype: dtype, shape: [d, dSAE], values: Array(wEnc.prefix(d * dSAE))),
                Tensor(name: "W_dec", dtype: dtype, shape: [dSAE, d], values: Array(wDec.prefix(d * dSAE))),
                Tensor(name: "b_enc", dtype: dtype, shape: [dSAE], values: bEnc),
                Tensor(name: "b_dec", dtype: dtype, shape: [d], values: Array(bDec.prefix(d)))]
    }

    func config(dIn: Int? = nil, architecture: String = "standard") -> [String: Any] {
        ["d_in": dIn ?? self.dIn, "d_sae": dSAE, "architecture": architecture, "dtype": "float32",
         "apply_b_dec_to_input": true, "normalize_activations": "none",
         "metadata": ["hook_name": "blocks.15.hook_resid_post", "model_name": "SmolLM2-135M-Instruct"]]
    }

    var directories: [URL] = []
    override func tearDown() {
        for d in directories { try? FileManager.default.removeItem(at: d) }
    }

    func write(config: [String: Any], weights: Data, labels: [String: String]? = nil) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sae-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        directories.append(dir)
        try JSONSerialization.data(withJSONObject: config).write(to: dir.appendingPathComponent("cfg.json"))
        try weights.write(to: dir.appendingPathComponent("sae_weights.safetensors"))
        if let labels { try JSONSerialization.data(withJSONObject: labels).write(to: dir.appendingPathComponent("labels.json")) }
        return dir.path
    }

    func run(_ args: [String]) throws -> Binary.Result {
        _ = try DefaultModel.file()
        return try Binary.run(try Binary.path(), args)
    }

    func object(_ r: Binary.Result) throws -> [String: Any] {
        XCTAssertEqual(r.status, 0, "stderr: \(r.stderr)")
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
    }

    /// The features command agrees with an independent double-precision encoding of the
    /// activations the `activations` command prints.
    func testFeaturesMatchAnEncodingOfTheActivationsCommand() throws {
        let text = "The quick brown fox jumps over the lazy dog."
        let sae = try write(config: config(), weights: SAEFixture.safetensors(tensors()), labels: ["3": "feature three \u{1b}[31m"])
        let acts = try object(run(["activations", "--model", DefaultModel.path, "--layer", "15", "--reduce", "none", "--json", text]))
        let allRows = try XCTUnwrap(acts["values"] as? [[Double]])
        XCTAssertGreaterThan(allRows.count, 3)
        // Position 0 (the attention sink) is left out of the reduction, as in the Features pane.
        let rows = Array(allRows.dropFirst())
        let wEnc = self.wEnc.map(Double.init), bEnc = self.bEnc.map(Double.init), bDec = self.bDec.map(Double.init)
        // Per token: relu((x - b_dec) @ W_enc + b_enc), with a bound on rounding from the sum of |terms|.
        var perToken: [[Double]] = [], scales: [[Double]] = []
        for x in rows {
            XCTAssertEqual(x.count, dIn)
            var f = [Double](repeating: 0, count: dSAE), s = [Double](repeating: 0, count: dSAE)
            for j in 0..<dSAE {
                var pre = bEnc[j], mag = abs(bEnc[j])
                for i in 0..<dIn { let t = (x[i] - bDec[i]) * wEnc[i * dSAE + j]; pre += t; mag += abs(t) }
                f[j] = max(pre, 0)
                s[j] = mag
            }
            perToken.append(f)
            scales.append(s)
        }
        for reduce in ["max", "sum", "last"] {
            var expected = [Double](repeating: 0, count: dSAE), scale = [Double](repeating: 0, count: dSAE)
            for j in 0..<dSAE {
                switch reduce {
                case "max": expected[j] = perToken.map { $0[j] }.max()!
                case "sum": expected[j] = perToken.map { $0[j] }.reduce(0, +)
                default: expected[j] = perToken.last![j]
                }
                scale[j] = reduce == "last" ? scales.last![j] : scales.map { $0[j] }.reduce(0, +)
            }
            let out = try object(run(["features", "--model", DefaultModel.path, "--sae", sae, "--reduce", reduce, "--top", "\(dSAE)", "--json", text]))
            XCTAssertEqual(out["hook"] as? String, "blocks.15.hook_resid_post")
            let features = try XCTUnwrap(out["features"] as? [[String: Any]])
            let positive = (0..<dSAE).filter { expected[$0] > 1e-4 * max(1, scale[$0]) }
            XCTAssertFalse(positive.isEmpty)
            XCTAssertEqual(features.count, (0..<dSAE).filter { expected[$0] > 0 }.count, "\(reduce): \(features)")
            var seen = Set<Int>()
            var previous = Double.infinity
            for f in features {
                let index = try XCTUnwrap(f["index"] as? Int)
                let activation = try XCTUnwrap(f["activation"] as? Double)
                seen.insert(index)
                XCTAssertLessThanOrEqual(activation, previous, "\(reduce): not sorted")
                previous = activation
                XCTAssertEqual(activation, expected[index], accuracy: 1e-4 * max(1, scale[index]), "\(reduce) feature \(index)")
                if index == 3 {
                    XCTAssertEqual(f["label"] as? String, "feature three \u{1b}[31m")
                } else {
                    XCTAssertTrue(f["label"] is NSNull, "label should be null: \(f)")
                }
            }
            XCTAssertTrue(Set(positive).isSubset(of: seen), "\(reduce): missing \(Set(positive).subtracting(seen))")
        }
        // --top limits the list to the strongest.
        let top2 = try object(run(["features", "--model", DefaultModel.path, "--sae", sae, "--top", "2", "--json", text]))
        XCTAssertEqual((top2["features"] as? [Any])?.count, 2)
        // Text output: labels pass through the sanitizer.
        let plain = try run(["features", "--model", DefaultModel.path, "--sae", sae, "--top", "\(dSAE)", text])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertTrue(plain.stdout.contains("blocks.15.hook_resid_post"))
        XCTAssertFalse(plain.stdout.contains("\u{1b}"), "escape sequence reached the terminal")
    }

    func testF16SAEGivesTheSameFeaturesAsF32() throws {
        // The fixture's weights are exact in f16.
        let text = "Hello"
        let a = try object(run(["features", "--model", DefaultModel.path, "--sae", try write(config: config(), weights: SAEFixture.safetensors(tensors())), "--json", text]))
        let b = try object(run(["features", "--model", DefaultModel.path, "--sae", try write(config: config(), weights: SAEFixture.safetensors(tensors(dtype: "F16"))), "--json", text]))
        XCTAssertEqual(a["features"] as? NSArray, b["features"] as? NSArray)
    }

    func failure(_ config: [String: Any], _ weights: Data) throws -> Binary.Result {
        let r = try run(["features", "--model", DefaultModel.path, "--sae", try write(config: config, weights: weights), "--json", "Hi"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertEqual(r.stdout, "")
        return r
    }

    func testMalformedSAEsFailWithClearErrors() throws {
        var bad = SAEFixture.safetensors(tensors())
        bad.replaceSubrange(0..<8, with: [0, 0, 0, 0, 0, 0, 0, 0x10])
        XCTAssertTrue(try failure(config(), bad).stderr.contains("bad header length"))

        let truncated = try failure(config(), SAEFixture.safetensors(tensors()).dropLast(7)).stderr
        XCTAssertTrue(truncated.contains("run past the data region"), truncated)

        let wrongDIn = try failure(config(dIn: 64), SAEFixture.safetensors(tensors(dIn: 64))).stderr
        XCTAssertTrue(wrongDIn.contains("d_in is 64") && wrongDIn.contains("576"), wrongDIn)

        let noDecoder = try failure(config(), SAEFixture.safetensors(tensors().filter { $0.name != "W_dec" })).stderr
        XCTAssertTrue(noDecoder.contains("missing tensor 'W_dec'"), noDecoder)

        var odd = tensors()
        odd[3].dtype = "F64"
        odd[3].values = odd[3].values + odd[3].values // F64 takes 8 bytes each
        let dtype = try failure(config(), SAEFixture.safetensors(odd)).stderr
        XCTAssertTrue(dtype.contains("unknown dtype 'F64'"), dtype)

        let arch = try failure(config(architecture: "gated"), SAEFixture.safetensors(tensors())).stderr
        XCTAssertTrue(arch.contains("unknown architecture 'gated'"), arch)

        let r = try run(["features", "--model", DefaultModel.path, "--sae", "/nonexistent/sae", "Hi"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("no SAE directory"), r.stderr)
    }
}
