import Foundation
import Model
import TestSupport
import XCTest

final class SAETests: XCTestCase {
    struct Expected: Decodable {
        struct Case: Decodable {
            let name: String; let architecture: String; let d_sae: Int; let apply_b_dec_to_input: Bool; let k: Int?
            let encodings: [[Double]]; let decode_first: [Double]
        }
        let d_in: Int
        let cases: [Case]
    }

    func expected() throws -> Expected {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/sae_expected.json")
        return try JSONDecoder().decode(Expected.self, from: Data(contentsOf: url))
    }

    func assertClose(_ a: [Float], _ b: [Double], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        for i in 0..<min(a.count, b.count) where abs(Double(a[i]) - b[i]) > 1e-5 * max(1, abs(b[i])) {
            XCTFail("\(what)[\(i)]: \(a[i]) != \(b[i])", file: file, line: line)
            return
        }
    }

    func testEncodingsMatchNumpyForEveryArchitectureAndDType() throws {
        let exp = try expected()
        for c in exp.cases {
            for dtype in ["F32", "F16", "BF16"] {
                let dir = try SAEFixture.directory()
                defer { try? FileManager.default.removeItem(at: dir) }
                let data = SAEFixture.safetensors(SAEFixture.tensors(dIn: exp.d_in, dSAE: c.d_sae, dtype: dtype, jumprelu: c.architecture == "jumprelu"))
                try SAEFixture.write(dir, config: SAEFixture.config(dSAE: c.d_sae, architecture: c.architecture, applyBDec: c.apply_b_dec_to_input, k: c.k), weights: data)
                let sae = try SparseAutoencoder.load(directory: dir.path, expectedDIn: 576)
                XCTAssertEqual(sae.hookPoint, .residPost(15))
                XCTAssertEqual(sae.modelName, "SmolLM2-135M-Instruct")
                XCTAssertEqual(sae.architecture.rawValue, c.architecture)
                for (n, e) in c.encodings.enumerated() {
                    assertClose(sae.encode(SAEFixture.input(n)), e, "\(c.name) \(dtype) input \(n)")
                }
                assertClose(sae.decode(sae.encode(SAEFixture.input(0))), c.decode_first, "\(c.name) \(dtype) decode")
            }
        }
    }

    func testOlderTopKConfigWithActivationFnKwargs() throws {
        let exp = try expected()
        let c = try XCTUnwrap(exp.cases.first { $0.name == "topk" })
        let dir = try SAEFixture.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var cfg = SAEFixture.config(dSAE: c.d_sae, architecture: "standard", applyBDec: true)
        cfg["activation_fn"] = "topk"
        cfg["activation_fn_kwargs"] = ["k": 5]
        cfg["metadata"] = nil
        cfg["hook_name"] = "blocks.3.hook_mlp_out"
        try SAEFixture.write(dir, config: cfg, weights: SAEFixture.safetensors(SAEFixture.tensors(dIn: 576, dSAE: c.d_sae, dtype: "F32", jumprelu: false)))
        let sae = try SparseAutoencoder.load(directory: dir.path)
        XCTAssertEqual(sae.architecture, .topk)
        XCTAssertEqual(sae.k, 5)
        XCTAssertEqual(sae.hookPoint, .mlpOut(3))
        assertClose(sae.encode(SAEFixture.input(1)), c.encodings[1], "topk via activation_fn")
    }

    func testApplyBDecDefaultsToTrueAsInSAELens() throws {
        let exp = try expected()
        let c = try XCTUnwrap(exp.cases.first { $0.name == "standard" })
        let dir = try SAEFixture.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var cfg = SAEFixture.config(dSAE: c.d_sae, architecture: "standard", applyBDec: true)
        cfg["apply_b_dec_to_input"] = nil
        try SAEFixture.write(dir, config: cfg, weights: SAEFixture.safetensors(SAEFixture.tensors(dIn: 576, dSAE: c.d_sae, dtype: "F32", jumprelu: false)))
        let sae = try SparseAutoencoder.load(directory: dir.path)
        XCTAssertTrue(sae.applyBDecToInput)
        assertClose(sae.encode(SAEFixture.input(2)), c.encodings[2], "default apply_b_dec_to_input")
    }

    func testExpectedAverageNormScalingFactorScalesTheInput() throws {
        let weights = SAEFixture.safetensors(SAEFixture.tensors(dIn: 576, dSAE: 16, dtype: "F32", jumprelu: false))
        let plainDir = try SAEFixture.directory(), scaledDir = try SAEFixture.directory()
        defer { try? FileManager.default.removeItem(at: plainDir); try? FileManager.default.removeItem(at: scaledDir) }
        try SAEFixture.write(plainDir, config: SAEFixture.config(dSAE: 16, architecture: "standard", applyBDec: true), weights: weights)
        var cfg = SAEFixture.config(dSAE: 16, architecture: "standard", applyBDec: true)
        cfg["normalize_activations"] = "expected_average_only_in"
        cfg["norm_scaling_factor"] = 2.0
        try SAEFixture.write(scaledDir, config: cfg, weights: weights)
        let plain = try SparseAutoencoder.load(directory: plainDir.path), scaled = try SparseAutoencoder.load(directory: scaledDir.path)
        let x = SAEFixture.input(1)
        // SAELens folds the factor s into the weights: the same as encoding s*x, and decoding divides by s.
        XCTAssertEqual(scaled.encode(x), plain.encode(x.map { $0 * 2 }))
        let f = scaled.encode(x)
        XCTAssertEqual(scaled.decode(f), plain.decode(f).map { $0 / 2 })
    }

    // MARK: malformed files

    func loadError(config: [String: Any], weights: Data, expectedDIn: Int? = 576) throws -> String {
        let dir = try SAEFixture.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try SAEFixture.write(dir, config: config, weights: weights)
        do {
            _ = try SparseAutoencoder.load(directory: dir.path, expectedDIn: expectedDIn)
            XCTFail("loaded a malformed SAE")
            return ""
        } catch {
            return String(describing: error)
        }
    }

    var goodConfig: [String: Any] { SAEFixture.config(dSAE: 8, architecture: "standard", applyBDec: true) }
    var goodWeights: Data { SAEFixture.safetensors(SAEFixture.tensors(dIn: 576, dSAE: 8, dtype: "F32", jumprelu: false)) }

    func testBadHeaderLength() throws {
        var data = goodWeights
        data.replaceSubrange(0..<8, with: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0])
        XCTAssertTrue(try loadError(config: goodConfig, weights: data).contains("bad header length"))
        XCTAssertTrue(try loadError(config: goodConfig, weights: Data([1, 2, 3])).contains("too short"))
    }

    func testTruncatedData() throws {
        let msg = try loadError(config: goodConfig, weights: goodWeights.dropLast(100))
        XCTAssertTrue(msg.contains("run past the data region"), msg)
    }

    func testWrongDInForTheModel() throws {
        let msg = try loadError(config: SAEFixture.config(dIn: 64, dSAE: 8, architecture: "standard", applyBDec: true),
                                weights: SAEFixture.safetensors(SAEFixture.tensors(dIn: 64, dSAE: 8, dtype: "F32", jumprelu: false)))
        XCTAssertTrue(msg.contains("d_in is 64") && msg.contains("576"), msg)
    }

    func testMissingDecoder() throws {
        let tensors = SAEFixture.tensors(dIn: 576, dSAE: 8, dtype: "F32", jumprelu: false).filter { $0.name != "W_dec" }
        let msg = try loadError(config: goodConfig, weights: SAEFixture.safetensors(tensors))
        XCTAssertTrue(msg.contains("missing tensor 'W_dec'"), msg)
        let msg2 = try loadError(config: SAEFixture.config(dSAE: 8, architecture: "jumprelu", applyBDec: true), weights: goodWeights)
        XCTAssertTrue(msg2.contains("missing tensor 'threshold'"), msg2)
    }

    func testUnknownDType() throws {
        var tensors = SAEFixture.tensors(dIn: 576, dSAE: 8, dtype: "F32", jumprelu: false)
        tensors[2].dtype = "I32"
        let msg = try loadError(config: goodConfig, weights: SAEFixture.safetensors(tensors))
        XCTAssertTrue(msg.contains("tensor 'b_enc' is I32, not a float type"), msg)
        tensors[2].dtype = "F64"
        let msg2 = try loadError(config: goodConfig, weights: SAEFixture.safetensors(tensors))
        XCTAssertTrue(msg2.contains("tensor 'b_enc': unknown dtype 'F64'"), msg2)
    }

    func testUnknownArchitectureAndNormalisation() throws {
        var cfg = goodConfig
        cfg["architecture"] = "gated"
        XCTAssertTrue(try loadError(config: cfg, weights: goodWeights).contains("unknown architecture 'gated'"))
        cfg = goodConfig
        cfg["normalize_activations"] = "layer_norm"
        XCTAssertTrue(try loadError(config: cfg, weights: goodWeights).contains("normalize_activations 'layer_norm' is not supported"))
    }

    func testWrongShape() throws {
        var tensors = SAEFixture.tensors(dIn: 576, dSAE: 8, dtype: "F32", jumprelu: false)
        tensors[0].shape = [8, 576] // W_enc stored the other way round
        let msg = try loadError(config: goodConfig, weights: SAEFixture.safetensors(tensors))
        XCTAssertTrue(msg.contains("tensor 'W_enc' has shape [8, 576], expected [576, 8]"), msg)
    }

    // MARK: the safetensors reader alone

    func header(_ json: String, body: Int) -> Data {
        var out = Data()
        var n = UInt64(json.utf8.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(Data(json.utf8))
        out.append(Data(count: body))
        return out
    }

    func readerError(_ data: Data) -> String {
        do { _ = try SafeTensorsFile(data: data); return "no error" } catch { return String(describing: error) }
    }

    func testSafeTensorsReaderRejectsBadHeaders() {
        XCTAssertTrue(readerError(header("{not json", body: 0)).contains("not valid JSON"))
        XCTAssertTrue(readerError(header("[1]", body: 0)).contains("not a JSON object"))
        XCTAssertTrue(readerError(header(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, body: 4)).contains("tensor 'a': shape [2] of F32 needs 8 bytes"))
        XCTAssertTrue(readerError(header(#"{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,4]}}"#, body: 4)).contains("overflows"))
        XCTAssertTrue(readerError(header(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}"#, body: 6)).contains("tensor 'b': data_offsets [2, 6] overlap"))
        XCTAssertTrue(readerError(header(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, body: 8)).contains("hole"))
        XCTAssertTrue(readerError(header(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}"#, body: 4)).contains("bad data_offsets"))
        XCTAssertTrue(readerError(header(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}}"#, body: 4)).contains("two integers"))
    }

    func testSafeTensorsReaderConvertsHalfAndBFloat() throws {
        // 1.5, -2, 65504 (f16 max), 2^-24 (smallest subnormal), -0, inf
        let halves: [UInt16] = [0x3E00, 0xC000, 0x7BFF, 0x0001, 0x8000, 0x7C00]
        let bf: [UInt16] = [0x3FC0, 0xC000, 0x4780]  // 1.5, -2, 65536
        var body = Data()
        for v in halves + bf { body.append(UInt8(v & 0xFF)); body.append(UInt8(v >> 8)) }
        let json = #"{"h":{"dtype":"F16","shape":[2,3],"data_offsets":[0,12]},"b":{"dtype":"BF16","shape":[3],"data_offsets":[12,18]},"__metadata__":{"format":"pt"}}"#
        var data = header(json, body: 0)
        data.append(body)
        let file = try SafeTensorsFile(data: data)
        XCTAssertEqual(file.metadata["format"], "pt")
        XCTAssertEqual(try file.floats("h"), [1.5, -2, 65504, Float(sign: .plus, exponent: -24, significand: 1), -0.0, .infinity])
        XCTAssertEqual(try file.floats("b"), [1.5, -2, 65536])
        XCTAssertThrowsError(try file.floats("nope"))
    }

    /// Prints the encoding time per token for a 576 x 16384 SAE (release build).
    func testEncodingSpeedAtSixteenThousandFeatures() throws {
        let dIn = 576, dSAE = 16384
        let dir = try SAEFixture.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let w = SAEFixture.weights(dIn: dIn, dSAE: dSAE)
        try SAEFixture.write(dir, config: SAEFixture.config(dSAE: dSAE, architecture: "topk", applyBDec: true, k: 64),
                             weights: SAEFixture.safetensors(SAEFixture.tensors(dIn: dIn, dSAE: dSAE, dtype: "F32", jumprelu: false, weights: w)))
        let sae = try SparseAutoencoder.load(directory: dir.path, expectedDIn: dIn)
        let x = SAEFixture.input(0)
        // Spot-check a few features against a plain double computation.
        let f = sae.encode(x)
        XCTAssertEqual(f.filter { $0 > 0 }.count, 64)
        for j in f.indices where f[j] > 0 {
            var pre = Double(w["b_enc"]![j])
            for i in 0..<dIn { pre += Double(x[i] - w["b_dec"]![i]) * Double(w["W_enc"]![i * dSAE + j]) }
            XCTAssertEqual(Double(f[j]), pre, accuracy: 1e-4 * max(1, abs(pre)))
        }
        let reps = 20
        let start = DispatchTime.now().uptimeNanoseconds
        var sink: Float = 0
        for _ in 0..<reps { sink += sae.encode(x)[0] }
        let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 / Double(reps)
        // A number to read, not an assertion: speed belongs in benchmarks, and a debug build is far slower.
        print("SAE encode, d_in \(dIn), d_sae \(dSAE): \(String(format: "%.2f", ms)) ms per token (\(sink))")
    }
}
