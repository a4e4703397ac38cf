import Foundation
import XCTest

/// Writes tiny SAELens directories (cfg.json + sae_weights.safetensors) for the SAE tests.
public enum SAEFixture {
    /// The integer hash of scripts/sae_fixture_gen.py.
    public static func hash(_ i: Int, _ seed: Int) -> UInt32 {
        var x = UInt32(truncatingIfNeeded: i + 1) &* 2654435761 &+ UInt32(truncatingIfNeeded: seed) &* 40503
        x ^= x >> 13
        x = x &* 2246822519
        x ^= x >> 16
        return x
    }

    public static func values(_ n: Int, seed: Int, modulus: UInt32, offset: Int, denom: Float) -> [Float] {
        (0..<n).map { Float(Int(hash($0, seed) % modulus) - offset) / denom }
    }

    public static func weights(dIn: Int, dSAE: Int) -> [String: [Float]] {
        ["W_enc": values(dIn * dSAE, seed: 1, modulus: 33, offset: 16, denom: 64),
         "W_dec": values(dSAE * dIn, seed: 2, modulus: 33, offset: 16, denom: 64),
         "b_enc": values(dSAE, seed: 3, modulus: 33, offset: 16, denom: 64),
         "b_dec": values(dIn, seed: 4, modulus: 33, offset: 16, denom: 32),
         "threshold": values(dSAE, seed: 5, modulus: 17, offset: 4, denom: 16)]
    }

    public static func input(_ n: Int, dIn: Int = 576) -> [Float] { values(dIn, seed: 10 + n, modulus: 65, offset: 32, denom: 16) }

    public struct Tensor {
        public var name: String, dtype: String, shape: [Int], values: [Float]
        public init(name: String, dtype: String, shape: [Int], values: [Float]) {
            self.name = name; self.dtype = dtype; self.shape = shape; self.values = values
        }
    }

    public static func encode(_ v: Float, _ dtype: String) -> [UInt8] {
        switch dtype {
        case "F16":
            let b = Float16(v).bitPattern
            return [UInt8(b & 0xFF), UInt8(b >> 8)]
        case "BF16":
            let b = UInt16(v.bitPattern >> 16) // the fixture's values are exact in bf16
            return [UInt8(b & 0xFF), UInt8(b >> 8)]
        default:
            let b = v.bitPattern
            return [UInt8(b & 0xFF), UInt8((b >> 8) & 0xFF), UInt8((b >> 16) & 0xFF), UInt8(b >> 24)]
        }
    }

    public static func safetensors(_ tensors: [Tensor], metadata: [String: String] = ["format": "pt"]) -> Data {
        var header: [String: Any] = ["__metadata__": metadata]
        var body: [UInt8] = []
        for t in tensors {
            let begin = body.count
            for v in t.values { body += encode(v, t.dtype) }
            header[t.name] = ["dtype": t.dtype, "shape": t.shape, "data_offsets": [begin, body.count]] as [String: Any]
        }
        var json = try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data()
        var n = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(json)
        out.append(contentsOf: body)
        return out
    }

    public static func tensors(dIn: Int, dSAE: Int, dtype: String, jumprelu: Bool, weights w: [String: [Float]]? = nil) -> [Tensor] {
        let w = w ?? weights(dIn: dIn, dSAE: dSAE)
        var list = [Tensor(name: "W_enc", dtype: dtype, shape: [dIn, dSAE], values: w["W_enc"]!),
                    Tensor(name: "W_dec", dtype: dtype, shape: [dSAE, dIn], values: w["W_dec"]!),
                    Tensor(name: "b_enc", dtype: dtype, shape: [dSAE], values: w["b_enc"]!),
                    Tensor(name: "b_dec", dtype: dtype, shape: [dIn], values: w["b_dec"]!)]
        if jumprelu { list.append(Tensor(name: "threshold", dtype: dtype, shape: [dSAE], values: w["threshold"]!)) }
        return list
    }

    public static func directory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sae-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @discardableResult
    public static func write(_ dir: URL, config: [String: Any], weights: Data) throws -> URL {
        try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys]).write(to: dir.appendingPathComponent("cfg.json"))
        try weights.write(to: dir.appendingPathComponent("sae_weights.safetensors"))
        return dir
    }

    public static func config(dIn: Int = 576, dSAE: Int, architecture: String, applyBDec: Bool, k: Int? = nil,
                       hook: String = "blocks.15.hook_resid_post") -> [String: Any] {
        var c: [String: Any] = ["d_in": dIn, "d_sae": dSAE, "architecture": architecture, "dtype": "float32",
                                "apply_b_dec_to_input": applyBDec, "normalize_activations": "none",
                                "metadata": ["hook_name": hook, "model_name": "SmolLM2-135M-Instruct"]]
        if let k { c["k"] = k }
        return c
    }
}

