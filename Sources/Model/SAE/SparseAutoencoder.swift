import Foundation

/// A problem loading a sparse autoencoder; the message says which file or field and what is wrong.
public struct SAEError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A sparse autoencoder saved by SAELens: a directory with `cfg.json` and `sae_weights.safetensors`.
///
/// Encoding follows SAELens' inference classes:
/// `pre = (s*x - b_dec if apply_b_dec_to_input else s*x) @ W_enc + b_enc` (s = 1 unless
/// `normalize_activations` is `expected_average_only_in` with a `norm_scaling_factor`), then
/// - standard: `relu(pre)`
/// - jumprelu: `relu(pre) * (pre > threshold)`
/// - topk: the k largest of `pre` (ties: lower index), ReLU applied to them, zeros elsewhere.
/// Decoding is `(f @ W_dec + b_dec) / s`.
public final class SparseAutoencoder: @unchecked Sendable {
    public enum Architecture: String, Sendable, CaseIterable { case standard, jumprelu, topk }

    public let directory: URL
    public let dIn: Int
    public let dSAE: Int
    public let architecture: Architecture
    /// Features kept per token by a TopK SAE.
    public let k: Int?
    public let applyBDecToInput: Bool
    public let normalizeActivations: String
    /// Input scale s (1 unless folded from `norm_scaling_factor`).
    public let inputScale: Float
    public let hookName: String?
    public let modelName: String?
    public let dtype: String?
    /// The hook point the SAE reads, when its name is one this workbench has.
    public var hookPoint: HookPoint? { hookName.flatMap { HookPoint(name: $0) } }

    /// W_enc transposed: row j is feature j's encoder direction, `dIn` values.
    private let encoderRows: [Float]
    /// W_dec as stored: row j is feature j's decoder direction, `dIn` values (read by the
    /// decoder-geometry extension in SparseAutoencoder+Geometry.swift).
    let decoderRows: [Float]
    private let bEnc: [Float]
    private let bDec: [Float]
    private let threshold: [Float]?

    public static let configFile = "cfg.json"
    public static let weightsFile = "sae_weights.safetensors"

    /// Loads and checks an SAELens directory. `expectedDIn` is the width of the model's residual
    /// stream (or hook output); a different `d_in` is an error.
    public static func load(directory: String, expectedDIn: Int? = nil) throws -> SparseAutoencoder {
        let dir = URL(fileURLWithPath: directory)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
            throw SAEError("no SAE directory at \(directory)")
        }
        let cfgURL = dir.appendingPathComponent(configFile)
        guard let cfgData = try? Data(contentsOf: cfgURL) else { throw SAEError("cannot read \(cfgURL.path)") }
        guard let cfg = (try? JSONSerialization.jsonObject(with: cfgData)) as? [String: Any] else {
            throw SAEError("\(configFile): not a JSON object")
        }
        let weightsURL = dir.appendingPathComponent(weightsFile)
        guard FileManager.default.fileExists(atPath: weightsURL.path) else { throw SAEError("missing \(weightsURL.path)") }
        let weights: SafeTensorsFile
        do {
            weights = try SafeTensorsFile(path: weightsURL.path)
        } catch let e as SafeTensorsError {
            throw SAEError("\(weightsFile): \(e.message)")
        }
        return try SparseAutoencoder(directory: dir, config: cfg, weights: weights, expectedDIn: expectedDIn)
    }

    private static func int(_ v: Any?) -> Int? {
        guard let v else { return nil }
        return SafeTensorsFile.integer(v)
    }

    init(directory: URL, config cfg: [String: Any], weights: SafeTensorsFile, expectedDIn: Int?) throws {
        self.directory = directory
        guard let dIn = Self.int(cfg["d_in"]), dIn > 0 else { throw SAEError("\(Self.configFile): missing or bad d_in") }
        guard let dSAE = Self.int(cfg["d_sae"]), dSAE > 0 else { throw SAEError("\(Self.configFile): missing or bad d_sae") }
        if let expectedDIn, expectedDIn != dIn {
            throw SAEError("SAE d_in is \(dIn) but the model's activations have width \(expectedDIn): this SAE was trained for a different model")
        }
        self.dIn = dIn
        self.dSAE = dSAE

        // Architecture: `architecture`, or the older `activation_fn: "topk"` with `activation_fn_kwargs.k`.
        let archName = (cfg["architecture"] as? String) ?? "standard"
        let activationFn = cfg["activation_fn"] as? String ?? cfg["activation_fn_str"] as? String
        var architecture: Architecture
        guard let a = Architecture(rawValue: archName) else {
            throw SAEError("\(Self.configFile): unknown architecture '\(UntrustedText.excerpt(archName))' (supported: standard, jumprelu, topk)")
        }
        architecture = a
        if let activationFn, activationFn != "relu" {
            if activationFn == "topk" && architecture != .jumprelu {
                architecture = .topk
            } else {
                throw SAEError("\(Self.configFile): unsupported activation_fn '\(UntrustedText.excerpt(activationFn))' for architecture '\(UntrustedText.excerpt(archName))'")
            }
        }
        self.architecture = architecture
        if architecture == .topk {
            let kwargs = cfg["activation_fn_kwargs"] as? [String: Any]
            guard let k = Self.int(cfg["k"]) ?? Self.int(kwargs?["k"]) else {
                throw SAEError("\(Self.configFile): a topk SAE needs k (or activation_fn_kwargs.k)")
            }
            guard k >= 1 && k <= dSAE else { throw SAEError("\(Self.configFile): k = \(k) must be 1...\(dSAE)") }
            self.k = k
        } else {
            k = nil
        }

        // SAELens' SAEConfig default is apply_b_dec_to_input = true.
        if let v = cfg["apply_b_dec_to_input"], !(v is NSNull) {
            guard isJSONBool(v), let b = v as? Bool else { throw SAEError("\(Self.configFile): apply_b_dec_to_input must be true or false") }
            applyBDecToInput = b
        } else {
            applyBDecToInput = true
        }

        let norm = (cfg["normalize_activations"] as? String) ?? "none"
        normalizeActivations = norm
        switch norm {
        case "none":
            inputScale = 1
        case "expected_average_only_in":
            // SAELens folds a known scaling factor into the weights; without one it leaves the input as is.
            if let v = cfg["norm_scaling_factor"], !(v is NSNull) {
                guard let s = (v as? Double).map(Float.init), s.isFinite, s > 0 else {
                    throw SAEError("\(Self.configFile): norm_scaling_factor must be a positive number")
                }
                inputScale = s
            } else {
                inputScale = 1
            }
        default:
            throw SAEError("\(Self.configFile): normalize_activations '\(UntrustedText.excerpt(norm))' is not supported (supported: none, expected_average_only_in)")
        }

        let meta = (cfg["metadata"] as? [String: Any]) ?? (cfg["meta"] as? [String: Any])
        hookName = (meta?["hook_name"] as? String) ?? (cfg["hook_name"] as? String)
        modelName = (meta?["model_name"] as? String) ?? (cfg["model_name"] as? String)
        dtype = cfg["dtype"] as? String

        func tensor(_ name: String, _ shape: [Int]) throws -> [Float] {
            guard let info = weights.info(name) else { throw SAEError("\(Self.weightsFile): missing tensor '\(UntrustedText.excerpt(name))'") }
            guard info.shape == shape else {
                throw SAEError("\(Self.weightsFile): tensor '\(UntrustedText.excerpt(name))' has shape \(UntrustedText.excerpt(describing: info.shape)), expected \(shape) for d_in \(dIn), d_sae \(dSAE)")
            }
            return try weights.floats(name)
        }
        let wEnc = try tensor("W_enc", [dIn, dSAE])
        decoderRows = try tensor("W_dec", [dSAE, dIn])
        bEnc = try tensor("b_enc", [dSAE])
        bDec = try tensor("b_dec", [dIn])
        threshold = architecture == .jumprelu ? try tensor("threshold", [dSAE]) : nil

        var rows = [Float](repeating: 0, count: dIn * dSAE)
        rows.withUnsafeMutableBufferPointer { dst in
            wEnc.withUnsafeBufferPointer { src in
                for i in 0..<dIn {
                    let s = i * dSAE
                    for j in 0..<dSAE { dst[j * dIn + i] = src[s + j] }
                }
            }
        }
        encoderRows = rows
    }

    /// Feature activations for one input vector of `dIn` values.
    public func encode(_ x: UnsafeBufferPointer<Float>) -> [Float] {
        precondition(x.count == dIn, "SAE input has \(x.count) values, expected \(dIn)")
        var input = [Float](repeating: 0, count: dIn)
        for i in 0..<dIn { input[i] = inputScale * x[i] - (applyBDecToInput ? bDec[i] : 0) }
        var pre = [Float](repeating: 0, count: dSAE)
        let n = dIn
        input.withUnsafeBufferPointer { xin in
            encoderRows.withUnsafeBufferPointer { w in
                pre.withUnsafeMutableBufferPointer { out in
                    for j in 0..<dSAE {
                        out[j] = SparseAutoencoder.dot(w.baseAddress! + j * n, xin.baseAddress!, n)
                    }
                }
            }
        }
        for j in 0..<dSAE { pre[j] += bEnc[j] }
        return activate(pre)
    }

    public func encode(_ x: [Float]) -> [Float] { x.withUnsafeBufferPointer { encode($0) } }

    /// The encoder's dot product of one W_enc column (stored as a row) with the input: two SIMD8
    /// accumulators, then the tail. The trainer uses the same function, so its in-memory SAE and
    /// the saved one encode identically.
    @inline(__always)
    static func dot(_ row: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int) -> Float {
        let rp = UnsafeRawPointer(row), xp = UnsafeRawPointer(x)
        let vecEnd = n & ~15
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
        var i = 0
        while i < vecEnd {
            a0 += rp.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
                * xp.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            a1 += rp.loadUnaligned(fromByteOffset: 4 * i + 32, as: SIMD8<Float>.self)
                * xp.loadUnaligned(fromByteOffset: 4 * i + 32, as: SIMD8<Float>.self)
            i += 16
        }
        var sum = (a0 + a1).sum()
        while i < n {
            sum += row[i] * x[i]
            i += 1
        }
        return sum
    }

    private func activate(_ pre: [Float]) -> [Float] {
        switch architecture {
        case .standard:
            return pre.map { $0 > 0 ? $0 : 0 }
        case .jumprelu:
            let t = threshold!
            var out = pre
            for j in 0..<dSAE { out[j] = (pre[j] > t[j] && pre[j] > 0) ? pre[j] : 0 }
            return out
        case .topk:
            let k = self.k!
            var out = [Float](repeating: 0, count: dSAE)
            for j in Self.topIndices(pre, k) { out[j] = max(pre[j], 0) }
            return out
        }
    }

    /// Indices of the k largest values, largest first; ties go to the lower index; NaN counts lowest.
    public static func topIndices(_ v: [Float], _ k: Int) -> [Int] {
        let k = min(k, v.count)
        guard k > 0 else { return [] }
        func before(_ a: Int, _ b: Int) -> Bool {
            let x = v[a], y = v[b]
            if x.isNaN != y.isNaN { return y.isNaN }
            if x != y && !x.isNaN { return x > y }
            return a < b
        }
        if k * 8 >= v.count { return Array(v.indices.sorted(by: before).prefix(k)) }
        // Keep a small sorted list of the best k.
        var best: [Int] = []
        best.reserveCapacity(k + 1)
        for i in v.indices {
            if best.count == k, !before(i, best[k - 1]) { continue }
            var lo = 0, hi = best.count
            while lo < hi { let mid = (lo + hi) / 2; if before(best[mid], i) { lo = mid + 1 } else { hi = mid } }
            best.insert(i, at: lo)
            if best.count > k { best.removeLast() }
        }
        return best
    }

    /// What one unit of `feature` adds to the reconstruction, in activation space: W_dec[feature] / s.
    public func decoderDirection(_ feature: Int) -> [Float] {
        precondition(feature >= 0 && feature < dSAE, "feature \(feature) is outside 0..<\(dSAE)")
        let row = decoderRows[(feature * dIn)..<((feature + 1) * dIn)]
        return inputScale == 1 ? Array(row) : row.map { $0 / inputScale }
    }

    /// The reconstruction `(f @ W_dec + b_dec) / s` of `dIn` values.
    public func decode(_ f: [Float]) -> [Float] {
        precondition(f.count == dSAE, "SAE features have \(f.count) values, expected \(dSAE)")
        var out = bDec
        decoderRows.withUnsafeBufferPointer { w in
            out.withUnsafeMutableBufferPointer { o in
                for j in 0..<dSAE where f[j] != 0 {
                    let a = f[j], row = j * dIn
                    for i in 0..<dIn { o[i] += a * w[row + i] }
                }
            }
        }
        if inputScale != 1 { for i in 0..<dIn { out[i] /= inputScale } }
        return out
    }
}
