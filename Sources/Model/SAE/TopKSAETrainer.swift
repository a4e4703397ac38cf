import Foundation

/// Settings of a TopK sparse-autoencoder training run.
public struct TopKSAETrainingConfig: Sendable, Equatable, Codable {
    public var dIn: Int
    public var dSAE: Int
    /// Features kept per token.
    public var k: Int
    public var learningRate: Float = 4e-4
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    /// Linear warm-up of the learning rate over this many steps.
    public var warmupSteps: Int = 0
    /// When set, the learning rate decays linearly to zero over the last `decayFraction` of these steps.
    public var totalSteps: Int? = nil
    public var decayFraction: Float = 0.2
    /// AuxK (Gao et al. 2024): dead features reconstruct the residual; nil = dIn / 2, 0 = off.
    public var auxK: Int? = nil
    public var auxCoefficient: Float = 1.0 / 32
    /// A feature is dead when it has not fired in this many training tokens.
    public var deadWindow: Int = 100_000
    public var seed: UInt64 = 0
    /// Threads for the dense encoder and the Adam update.
    public var threads: Int = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8))

    public init(dIn: Int, dSAE: Int, k: Int) {
        self.dIn = dIn
        self.dSAE = dSAE
        self.k = k
    }
}

/// What one training step saw (in the normalised space the SAE works in).
public struct TopKSAEStepStats: Sendable, Equatable {
    /// Mean over tokens of ||x - x_hat||^2.
    public var mse: Float
    /// 1 - sum ||x - x_hat||^2 / sum ||x - mean(x)||^2 over the batch.
    public var fve: Float
    /// Mean number of features above zero per token.
    public var l0: Float
    /// AuxK loss (0 when no feature is dead).
    public var auxLoss: Float
    /// Features that have not fired in the last `deadWindow` tokens, as a fraction of d_sae.
    public var deadFraction: Float
}

/// Held-out evaluation accumulated over any number of batches.
public struct TopKSAEEvaluation: Sendable {
    public internal(set) var tokens = 0
    var sumError: Double = 0
    var sumSquares: Double = 0
    var sumActive: Double = 0
    var sum: [Double]

    public init(dIn: Int) { sum = [Double](repeating: 0, count: dIn) }

    /// 1 - sum ||x - x_hat||^2 / sum ||x - mean||^2.
    public var fve: Double {
        guard tokens > 0 else { return .nan }
        let n = Double(tokens)
        let centred = sumSquares - sum.reduce(0) { $0 + $1 * $1 } / n
        return centred > 0 ? 1 - sumError / centred : .nan
    }
    public var l0: Double { tokens > 0 ? sumActive / Double(tokens) : .nan }
    public var mse: Double { tokens > 0 ? sumError / Double(tokens) : .nan }
}

/// A problem saving or resuming a training run.
public struct SAETrainingError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Fixed-size float storage shared with worker threads.
final class FloatStore: @unchecked Sendable {
    let p: UnsafeMutablePointer<Float>
    let count: Int
    init(_ count: Int, value: Float = 0) {
        self.count = count
        p = .allocate(capacity: max(count, 1))
        p.initialize(repeating: value, count: max(count, 1))
    }
    init(_ values: [Float]) {
        count = values.count
        p = .allocate(capacity: max(count, 1))
        p.initialize(repeating: 0, count: max(count, 1))
        values.withUnsafeBufferPointer { src in if count > 0 { p.update(from: src.baseAddress!, count: count) } }
    }
    deinit { p.deallocate() }
    var array: [Float] { Array(UnsafeBufferPointer(start: p, count: count)) }
    func zero() { p.update(repeating: 0, count: count) }
}

/// Trains a TopK sparse autoencoder with SAELens' semantics:
/// `pre = (s*x - b_dec) @ W_enc + b_enc`, the k largest of `pre` kept and ReLU'd,
/// `x_hat = f @ W_dec + b_dec` (in the normalised space; divided by s to get back to the input).
///
/// s is fixed at initialisation so that s^2 * mean ||x||^2 = d_in (SAELens'
/// `normalize_activations: expected_average_only_in`, saved as `norm_scaling_factor`).
/// Adam on all parameters; decoder rows kept at unit norm (the gradient component parallel to a
/// row is removed before the step, the row renormalised after). The backward pass only touches
/// the k active features of each token; the dense encoder product is the cost, computed on
/// W_enc stored transposed with 2 features x 4 tokens per SIMD tile, features split over threads.
public final class TopKSAETrainer: @unchecked Sendable {
    public private(set) var config: TopKSAETrainingConfig
    public let inputScale: Float
    /// Training tokens (activation rows) consumed by `step`.
    public private(set) var tokensSeen: Int = 0
    public private(set) var steps: Int = 0
    /// Free for the caller's bookkeeping (e.g. how far into a corpus it has read); saved in checkpoints.
    public var streamPosition: Int = 0

    let dIn: Int, dSAE: Int, k: Int
    // Parameters: W_enc transposed [dSAE][dIn], W_dec [dSAE][dIn].
    let wEncT: FloatStore, wDec: FloatStore, bEnc: FloatStore, bDec: FloatStore
    // Adam moments and gradients.
    let mEnc: FloatStore, vEnc: FloatStore, mDec: FloatStore, vDec: FloatStore
    let mBEnc: FloatStore, vBEnc: FloatStore, mBDec: FloatStore, vBDec: FloatStore
    let gEnc: FloatStore, gDec: FloatStore, gBEnc: FloatStore, gBDec: FloatStore
    /// Token index (in tokensSeen) at which each feature last fired; how many tokens it fired on.
    var lastFired: [Int]
    public private(set) var fireCount: [Int]

    // Scratch for one batch.
    private var capacity = 0
    private var xs = FloatStore(0), xc = FloatStore(0), pre = FloatStore(0), err = FloatStore(0)

    // MARK: Creation

    /// A fresh SAE. `sample` (rows x dIn, raw activations) sets the input scale and b_dec (its mean).
    public init(config: TopKSAETrainingConfig, sample: UnsafeBufferPointer<Float>, rows: Int) {
        precondition(config.dIn > 0 && config.dSAE > 0 && config.k >= 1 && config.k <= config.dSAE)
        precondition(rows > 0 && sample.count >= rows * config.dIn)
        self.config = config
        dIn = config.dIn; dSAE = config.dSAE; k = config.k
        var sq: Double = 0
        for i in 0..<(rows * dIn) { sq += Double(sample[i]) * Double(sample[i]) }
        let meanSq = sq / Double(rows)
        let s = meanSq > 0 && meanSq.isFinite ? Float((Double(dIn) / meanSq).squareRoot()) : 1
        inputScale = s
        var mean = [Double](repeating: 0, count: dIn)
        for r in 0..<rows { for i in 0..<dIn { mean[i] += Double(sample[r * dIn + i]) } }
        bDec = FloatStore(mean.map { Float($0 / Double(rows)) * s })
        bEnc = FloatStore(dSAE)
        var rng = SplitMix64(seed: config.seed)
        wDec = FloatStore(dSAE * dIn)
        for j in 0..<dSAE {
            var norm: Float = 0
            for i in 0..<dIn { let g = rng.gaussian(); wDec.p[j * dIn + i] = g; norm += g * g }
            norm = norm.squareRoot()
            for i in 0..<dIn { wDec.p[j * dIn + i] /= norm }
        }
        wEncT = FloatStore(wDec.array)  // W_enc = W_dec^T
        (mEnc, vEnc, mDec, vDec) = (FloatStore(dSAE * dIn), FloatStore(dSAE * dIn), FloatStore(dSAE * dIn), FloatStore(dSAE * dIn))
        (mBEnc, vBEnc, mBDec, vBDec) = (FloatStore(dSAE), FloatStore(dSAE), FloatStore(dIn), FloatStore(dIn))
        (gEnc, gDec, gBEnc, gBDec) = (FloatStore(dSAE * dIn), FloatStore(dSAE * dIn), FloatStore(dSAE), FloatStore(dIn))
        lastFired = [Int](repeating: 0, count: dSAE)
        fireCount = [Int](repeating: 0, count: dSAE)
    }

    public convenience init(config: TopKSAETrainingConfig, sample: [Float]) {
        let rows = sample.count / config.dIn
        let store = FloatStore(sample)
        self.init(config: config, sample: UnsafeBufferPointer(start: store.p, count: store.count), rows: rows)
        withExtendedLifetime(store) {}
    }

    private init(config: TopKSAETrainingConfig, scale: Float, tensors t: [String: [Float]], counters: [String: Int],
                 lastFired: [Int], fireCount: [Int]) {
        self.config = config
        dIn = config.dIn; dSAE = config.dSAE; k = config.k
        inputScale = scale
        wEncT = FloatStore(t["W_enc_T"]!); wDec = FloatStore(t["W_dec"]!); bEnc = FloatStore(t["b_enc"]!); bDec = FloatStore(t["b_dec"]!)
        mEnc = FloatStore(t["m_W_enc_T"]!); vEnc = FloatStore(t["v_W_enc_T"]!)
        mDec = FloatStore(t["m_W_dec"]!); vDec = FloatStore(t["v_W_dec"]!)
        mBEnc = FloatStore(t["m_b_enc"]!); vBEnc = FloatStore(t["v_b_enc"]!)
        mBDec = FloatStore(t["m_b_dec"]!); vBDec = FloatStore(t["v_b_dec"]!)
        (gEnc, gDec, gBEnc, gBDec) = (FloatStore(dSAE * dIn), FloatStore(dSAE * dIn), FloatStore(dSAE), FloatStore(dIn))
        tokensSeen = counters["tokens_seen"] ?? 0
        steps = counters["steps"] ?? 0
        streamPosition = counters["stream_position"] ?? 0
        self.lastFired = lastFired
        self.fireCount = fireCount
    }

    /// Replaces the schedule and thread settings of a resumed run (shapes and seed stay).
    public func updateSchedule(learningRate: Float? = nil, totalSteps: Int?? = nil, warmupSteps: Int? = nil, threads: Int? = nil) {
        if let learningRate { config.learningRate = learningRate }
        if let totalSteps { config.totalSteps = totalSteps }
        if let warmupSteps { config.warmupSteps = warmupSteps }
        if let threads { config.threads = max(1, threads) }
    }

    // MARK: Access

    public var decoderRows: [Float] { wDec.array }
    public var encoderRowsTransposed: [Float] { wEncT.array }
    public var decoderBias: [Float] { bDec.array }
    public var encoderBias: [Float] { bEnc.array }
    /// Features that never fired during training, as a fraction of d_sae.
    public var neverFiredFraction: Float { Float(fireCount.filter { $0 == 0 }.count) / Float(dSAE) }
    /// Features that have not fired in the last `deadWindow` tokens (none until that many tokens are seen).
    public var deadFraction: Float {
        guard tokensSeen > config.deadWindow else { return 0 }
        return Float(lastFired.filter { tokensSeen - $0 > config.deadWindow }.count) / Float(dSAE)
    }

    public func learningRate(atStep step: Int) -> Float {
        var lr = config.learningRate
        if config.warmupSteps > 0 && step < config.warmupSteps { lr *= Float(step + 1) / Float(config.warmupSteps) }
        if let total = config.totalSteps, total > 0, config.decayFraction > 0 {
            let decayStart = Float(total) * (1 - config.decayFraction)
            if Float(step) >= decayStart {
                lr *= max(0.01, (Float(total) - Float(step)) / (Float(total) - decayStart))
            }
        }
        return lr
    }

    /// Feature activations of one raw input, computed exactly as `SparseAutoencoder.encode`
    /// computes them from the saved files.
    public func encode(_ x: [Float]) -> [Float] {
        precondition(x.count == dIn)
        var input = [Float](repeating: 0, count: dIn)
        for i in 0..<dIn { input[i] = inputScale * x[i] - bDec.p[i] }
        var preAct = [Float](repeating: 0, count: dSAE)
        let n = dIn
        input.withUnsafeBufferPointer { xin in
            for j in 0..<dSAE {
                preAct[j] = SparseAutoencoder.dot(wEncT.p + j * n, xin.baseAddress!, n)
            }
        }
        for j in 0..<dSAE { preAct[j] += bEnc.p[j] }
        var out = [Float](repeating: 0, count: dSAE)
        for j in SparseAutoencoder.topIndices(preAct, k) { out[j] = max(preAct[j], 0) }
        return out
    }

    /// The reconstruction of raw input space, `(f @ W_dec + b_dec) / s`.
    public func decode(_ f: [Float]) -> [Float] {
        var out = Array(UnsafeBufferPointer(start: bDec.p, count: dIn))
        for j in 0..<dSAE where f[j] != 0 {
            for i in 0..<dIn { out[i] += f[j] * wDec.p[j * dIn + i] }
        }
        return out.map { $0 / inputScale }
    }

    // MARK: Forward

    private func ensureCapacity(_ rows: Int) {
        guard rows > capacity else { return }
        capacity = rows
        xs = FloatStore(rows * dIn); xc = FloatStore(rows * dIn); err = FloatStore(rows * dIn)
        pre = FloatStore(rows * dSAE)
    }

    /// Fills xs (scaled input), xc (scaled minus b_dec) and pre for `rows` raw inputs.
    private func forwardDense(_ x: UnsafePointer<Float>, rows: Int) {
        ensureCapacity(rows)
        let s = inputScale
        for r in 0..<rows {
            for i in 0..<dIn {
                let v = s * x[r * dIn + i]
                xs.p[r * dIn + i] = v
                xc.p[r * dIn + i] = v - bDec.p[i]
            }
        }
        let threads = max(1, min(config.threads, dSAE / 64))
        let per = ((dSAE + threads - 1) / threads + 1) & ~1
        let (w, xcp, out, be) = (wEncT.p, xc.p, pre.p, bEnc.p)
        let (n, m) = (dIn, dSAE)
        DispatchQueue.concurrentPerform(iterations: threads) { part in
            let lo = part * per, hi = min(m, lo + per)
            if lo < hi { Self.encoderTile(w: w, x: xcp, out: out, bias: be, dIn: n, dSAE: m, rows: rows, features: lo..<hi) }
        }
    }

    /// out[t][j] = x[t] . w[j] + bias[j] for j in `features`, all t: blocks of 64 tokens, then
    /// pairs of features, then 4 tokens at a time, so each loaded row segment is used 4 times.
    static func encoderTile(w: UnsafePointer<Float>, x: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>,
                            dIn n: Int, dSAE m: Int, rows: Int, features: Range<Int>) {
        let vecEnd = n & ~7
        let wr = UnsafeRawPointer(w), xr = UnsafeRawPointer(x)
        var block = 0
        while block < rows {
            let blockEnd = min(rows, block + 64)
            var j = features.lowerBound
            while j < features.upperBound {
                let j1 = min(j + 1, features.upperBound - 1)
                let w0 = wr + j * n * 4, w1 = wr + j1 * n * 4
                var t = block
                while t < blockEnd {
                    let t1 = min(t + 1, blockEnd - 1), t2 = min(t + 2, blockEnd - 1), t3 = min(t + 3, blockEnd - 1)
                    let x0 = xr + t * n * 4, x1 = xr + t1 * n * 4, x2 = xr + t2 * n * 4, x3 = xr + t3 * n * 4
                    var a00 = SIMD8<Float>(), a01 = SIMD8<Float>(), a02 = SIMD8<Float>(), a03 = SIMD8<Float>()
                    var a10 = SIMD8<Float>(), a11 = SIMD8<Float>(), a12 = SIMD8<Float>(), a13 = SIMD8<Float>()
                    var i = 0
                    while i < vecEnd {
                        let o = 4 * i
                        let r0 = w0.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
                        let r1 = w1.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
                        let v0 = x0.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
                        let v1 = x1.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
                        let v2 = x2.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
                        let v3 = x3.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
                        a00 += r0 * v0; a01 += r0 * v1; a02 += r0 * v2; a03 += r0 * v3
                        a10 += r1 * v0; a11 += r1 * v1; a12 += r1 * v2; a13 += r1 * v3
                        i += 8
                    }
                    var s00 = a00.sum(), s01 = a01.sum(), s02 = a02.sum(), s03 = a03.sum()
                    var s10 = a10.sum(), s11 = a11.sum(), s12 = a12.sum(), s13 = a13.sum()
                    while i < n {
                        let r0 = w[j * n + i], r1 = w[j1 * n + i]
                        s00 += r0 * x[t * n + i]; s01 += r0 * x[t1 * n + i]; s02 += r0 * x[t2 * n + i]; s03 += r0 * x[t3 * n + i]
                        s10 += r1 * x[t * n + i]; s11 += r1 * x[t1 * n + i]; s12 += r1 * x[t2 * n + i]; s13 += r1 * x[t3 * n + i]
                        i += 1
                    }
                    let b0 = bias[j], b1 = bias[j1]
                    // Duplicated tails (t1..t3 or j1 clamped) write the same value twice: harmless.
                    out[t3 * m + j] = s03 + b0; out[t2 * m + j] = s02 + b0; out[t1 * m + j] = s01 + b0; out[t * m + j] = s00 + b0
                    out[t3 * m + j1] = s13 + b1; out[t2 * m + j1] = s12 + b1; out[t1 * m + j1] = s11 + b1; out[t * m + j1] = s10 + b1
                    t += 4
                }
                j += 2
            }
            block = blockEnd
        }
    }

    /// Indices of the `k` largest values of row (strictly greater replaces, so ties keep the lower index).
    @inline(__always)
    static func topK(_ row: UnsafePointer<Float>, count: Int, k: Int, candidates: UnsafePointer<Int32>?, candidateCount: Int,
                     indices: inout [Int32], values: inout [Float]) -> Int {
        // A sorted (descending) list of at most k entries.
        var filled = 0
        let total = candidates == nil ? count : candidateCount
        for c in 0..<total {
            let j = candidates.map { Int($0[c]) } ?? c
            let v = row[j]
            if v.isNaN { continue }
            if filled == k && !(v > values[k - 1]) { continue }
            var pos = filled == k ? k - 1 : filled
            while pos > 0 && v > values[pos - 1] {
                values[pos] = values[pos - 1]; indices[pos] = indices[pos - 1]
                pos -= 1
            }
            values[pos] = v; indices[pos] = Int32(j)
            if filled < k { filled += 1 }
        }
        return filled
    }

    /// Accumulates held-out reconstruction statistics for `rows` raw inputs (no training).
    public func evaluate(_ x: UnsafeBufferPointer<Float>, rows: Int, into eval: inout TopKSAEEvaluation) {
        guard rows > 0 else { return }
        precondition(x.count >= rows * dIn)
        forwardDense(x.baseAddress!, rows: rows)
        var idx = [Int32](repeating: 0, count: k), val = [Float](repeating: 0, count: k)
        var xhat = [Float](repeating: 0, count: dIn)
        for t in 0..<rows {
            let n = Self.topK(pre.p + t * dSAE, count: dSAE, k: k, candidates: nil, candidateCount: 0, indices: &idx, values: &val)
            for i in 0..<dIn { xhat[i] = bDec.p[i] }
            var active = 0
            for a in 0..<n where val[a] > 0 {
                active += 1
                let row = wDec.p + Int(idx[a]) * dIn, f = val[a]
                for i in 0..<dIn { xhat[i] += f * row[i] }
            }
            var e: Double = 0
            for i in 0..<dIn {
                let v = Double(xs.p[t * dIn + i])
                let d = Double(xhat[i]) - v
                e += d * d
                eval.sum[i] += v
                eval.sumSquares += v * v
            }
            eval.sumError += e
            eval.sumActive += Double(active)
        }
        eval.tokens += rows
    }

    public func evaluate(_ x: [Float], into eval: inout TopKSAEEvaluation) {
        x.withUnsafeBufferPointer { evaluate($0, rows: x.count / dIn, into: &eval) }
    }

    // MARK: Training

    @discardableResult
    public func step(_ x: [Float]) -> TopKSAEStepStats {
        x.withUnsafeBufferPointer { step($0, rows: x.count / dIn) }
    }

    /// One Adam step on a batch of `rows` raw activations (rows x dIn).
    @discardableResult
    public func step(_ x: UnsafeBufferPointer<Float>, rows B: Int) -> TopKSAEStepStats {
        precondition(B > 0 && x.count >= B * dIn)
        forwardDense(x.baseAddress!, rows: B)
        let n = dIn

        // Dead features before this batch, for AuxK.
        var dead: [Int32] = []
        let auxKConfigured = config.auxK ?? max(1, dIn / 2)
        if auxKConfigured > 0 && config.auxCoefficient > 0 && tokensSeen > config.deadWindow {
            for j in 0..<dSAE where tokensSeen - lastFired[j] > config.deadWindow { dead.append(Int32(j)) }
        }
        let kAux = min(auxKConfigured, dead.count)

        gEnc.zero(); gDec.zero(); gBEnc.zero(); gBDec.zero()
        var touched = [Bool](repeating: false, count: dSAE)
        let c = 2 / Float(B)
        let auxC = c * config.auxCoefficient
        var idx = [Int32](repeating: 0, count: k), val = [Float](repeating: 0, count: k)
        var aIdx = [Int32](repeating: 0, count: max(kAux, 1)), aVal = [Float](repeating: 0, count: max(kAux, 1))
        var sumErr: Double = 0, sumAux: Double = 0, active = 0
        var batchSum = [Double](repeating: 0, count: n)
        var batchSq: Double = 0
        var e2 = [Float](repeating: 0, count: n)
        var gBDecLocal = [Float](repeating: 0, count: n)
        let firedBase = tokensSeen

        for t in 0..<B {
            let xst = xs.p + t * n, xct = xc.p + t * n, e = err.p + t * n
            let got = Self.topK(pre.p + t * dSAE, count: dSAE, k: k, candidates: nil, candidateCount: 0, indices: &idx, values: &val)
            // x_hat - x
            for i in 0..<n { e[i] = bDec.p[i] - xst[i] }
            for a in 0..<got where val[a] > 0 {
                let row = wDec.p + Int(idx[a]) * n, f = val[a]
                for i in 0..<n { e[i] += f * row[i] }
            }
            var se: Double = 0
            for i in 0..<n {
                se += Double(e[i]) * Double(e[i])
                let v = Double(xst[i]); batchSum[i] += v; batchSq += v * v
            }
            sumErr += se
            // Main loss gradients, active features only.
            for i in 0..<n { gBDecLocal[i] += c * e[i] }
            for a in 0..<got where val[a] > 0 {
                active += 1
                let j = Int(idx[a]), f = val[a]
                lastFired[j] = firedBase + t + 1
                fireCount[j] += 1
                touched[j] = true
                let wd = wDec.p + j * n, we = wEncT.p + j * n, gd = gDec.p + j * n, ge = gEnc.p + j * n
                var dot: Float = 0
                for i in 0..<n { dot += e[i] * wd[i] }
                let gf = c * dot
                let cf = c * f
                for i in 0..<n {
                    gd[i] += cf * e[i]
                    ge[i] += gf * xct[i]
                    gBDecLocal[i] -= gf * we[i]
                }
                gBEnc.p[j] += gf
            }
            // AuxK: the top kAux dead features reconstruct the residual x - x_hat (held fixed).
            if kAux > 0 {
                let got2 = dead.withUnsafeBufferPointer { dp in
                    Self.topK(pre.p + t * dSAE, count: dSAE, k: kAux, candidates: dp.baseAddress, candidateCount: dp.count,
                              indices: &aIdx, values: &aVal)
                }
                var any = false
                for i in 0..<n { e2[i] = e[i] }  // e_hat - (x - x_hat) = e_hat + (x_hat - x)
                for a in 0..<got2 where aVal[a] > 0 {
                    any = true
                    let row = wDec.p + Int(aIdx[a]) * n, f = aVal[a]
                    for i in 0..<n { e2[i] += f * row[i] }
                }
                if any {
                    var sa: Double = 0
                    for i in 0..<n { sa += Double(e2[i]) * Double(e2[i]) }
                    if sa.isFinite {
                        sumAux += sa
                        for a in 0..<got2 where aVal[a] > 0 {
                            let j = Int(aIdx[a]), f = aVal[a]
                            touched[j] = true
                            let wd = wDec.p + j * n, we = wEncT.p + j * n, gd = gDec.p + j * n, ge = gEnc.p + j * n
                            var dot: Float = 0
                            for i in 0..<n { dot += e2[i] * wd[i] }
                            let gf = auxC * dot, cf = auxC * f
                            for i in 0..<n {
                                gd[i] += cf * e2[i]
                                ge[i] += gf * xct[i]
                                gBDecLocal[i] -= gf * we[i]
                            }
                            gBEnc.p[j] += gf
                        }
                    }
                }
            }
        }
        for i in 0..<n { gBDec.p[i] = gBDecLocal[i] }

        // Remove the gradient component along each (unit) decoder row.
        for j in 0..<dSAE where touched[j] {
            let wd = wDec.p + j * n, gd = gDec.p + j * n
            var dot: Float = 0
            for i in 0..<n { dot += gd[i] * wd[i] }
            for i in 0..<n { gd[i] -= dot * wd[i] }
        }

        adamUpdate()
        // Renormalise decoder rows.
        let (wd, m) = (wDec.p, dSAE)
        let threads = max(1, min(config.threads, dSAE / 64))
        DispatchQueue.concurrentPerform(iterations: threads) { part in
            let per = (m + threads - 1) / threads
            for j in (part * per)..<min(m, (part + 1) * per) {
                let row = wd + j * n
                var s: Float = 0
                for i in 0..<n { s += row[i] * row[i] }
                if s > 0 { let inv = 1 / s.squareRoot(); for i in 0..<n { row[i] *= inv } }
            }
        }
        tokensSeen += B
        steps += 1

        let centred = batchSq - batchSum.reduce(0) { $0 + $1 * $1 } / Double(B)
        return TopKSAEStepStats(mse: Float(sumErr / Double(B)),
                                fve: centred > 0 ? Float(1 - sumErr / centred) : .nan,
                                l0: Float(active) / Float(B),
                                auxLoss: Float(sumAux / Double(B)),
                                deadFraction: deadFraction)
    }

    private func adamUpdate() {
        let t = Float(steps + 1)
        let lr = learningRate(atStep: steps)
        let b1 = config.beta1, b2 = config.beta2, eps = config.epsilon
        let c1 = 1 - powf(b1, t), c2 = 1 - powf(b2, t)
        let stepSize = lr / c1, c2Root = c2.squareRoot()
        func update(_ p: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>, _ m: UnsafeMutablePointer<Float>,
                    _ v: UnsafeMutablePointer<Float>, _ range: Range<Int>) {
            for i in range {
                let gi = g[i]
                let mi = b1 * m[i] + (1 - b1) * gi
                let vi = b2 * v[i] + (1 - b2) * gi * gi
                m[i] = mi; v[i] = vi
                p[i] -= stepSize * mi / (vi.squareRoot() / c2Root + eps)
            }
        }
        let total = dSAE * dIn
        let threads = max(1, min(config.threads, total / 4096))
        let (pe, ge, me, ve, pd, gd, md, vd) = (wEncT.p, gEnc.p, mEnc.p, vEnc.p, wDec.p, gDec.p, mDec.p, vDec.p)
        DispatchQueue.concurrentPerform(iterations: threads) { part in
            let per = (total + threads - 1) / threads
            let r = (part * per)..<min(total, (part + 1) * per)
            update(pe, ge, me, ve, r)
            update(pd, gd, md, vd, r)
        }
        update(bEnc.p, gBEnc.p, mBEnc.p, vBEnc.p, 0..<dSAE)
        update(bDec.p, gBDec.p, mBDec.p, vBDec.p, 0..<dIn)
    }

    // MARK: Saving

    public static let stateFile = "trainer_state.safetensors"

    /// Writes `cfg.json` and `sae_weights.safetensors` in the SAELens layout `SparseAutoencoder.load`
    /// reads (F32, W_enc [d_in, d_sae], W_dec [d_sae, d_in], b_enc, b_dec), each atomically.
    /// `extra` goes into cfg.json beside the standard keys (e.g. `training` statistics).
    public func save(to directory: URL, hookName: String, modelName: String, extra: [String: Any] = [:]) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var wEnc = [Float](repeating: 0, count: dIn * dSAE)
        for j in 0..<dSAE { for i in 0..<dIn { wEnc[i * dSAE + j] = wEncT.p[j * dIn + i] } }
        let weights = SafeTensorsWriter.data([
            ("W_enc", [dIn, dSAE], wEnc), ("W_dec", [dSAE, dIn], wDec.array),
            ("b_enc", [dSAE], bEnc.array), ("b_dec", [dIn], bDec.array),
        ], metadata: ["format": "pt"])
        var cfg: [String: Any] = [
            "d_in": dIn, "d_sae": dSAE, "architecture": "topk", "k": k, "dtype": "float32", "device": "cpu",
            "apply_b_dec_to_input": true, "normalize_activations": "expected_average_only_in",
            "norm_scaling_factor": Double(inputScale),
            "metadata": ["hook_name": hookName, "model_name": modelName] as [String: Any],
        ]
        for (key, value) in extra { cfg[key] = value }
        let json = try JSONSerialization.data(withJSONObject: cfg, options: [.prettyPrinted, .sortedKeys])
        try Self.atomicWrite(weights, to: directory.appendingPathComponent(SparseAutoencoder.weightsFile))
        try Self.atomicWrite(json, to: directory.appendingPathComponent(SparseAutoencoder.configFile))
    }

    /// Saves the SAE and, beside it, the full trainer state (parameters, Adam moments, counters).
    public func saveCheckpoint(to directory: URL, hookName: String, modelName: String, extra: [String: Any] = [:]) throws {
        try save(to: directory, hookName: hookName, modelName: modelName, extra: extra)
        let configJSON = String(decoding: try JSONEncoder().encode(config), as: UTF8.self)
        let metadata = ["format": "workbench-topk-trainer-1", "config": configJSON, "input_scale": "\(inputScale.bitPattern)",
                        "tokens_seen": "\(tokensSeen)", "steps": "\(steps)", "stream_position": "\(streamPosition)"]
        let state = SafeTensorsWriter.data([
            ("W_enc_T", [dSAE, dIn], wEncT.array), ("W_dec", [dSAE, dIn], wDec.array),
            ("b_enc", [dSAE], bEnc.array), ("b_dec", [dIn], bDec.array),
            ("m_W_enc_T", [dSAE, dIn], mEnc.array), ("v_W_enc_T", [dSAE, dIn], vEnc.array),
            ("m_W_dec", [dSAE, dIn], mDec.array), ("v_W_dec", [dSAE, dIn], vDec.array),
            ("m_b_enc", [dSAE], mBEnc.array), ("v_b_enc", [dSAE], vBEnc.array),
            ("m_b_dec", [dIn], mBDec.array), ("v_b_dec", [dIn], vBDec.array),
            // Counters as floats would lose precision: store as offsets from tokensSeen in two halves.
            ("last_fired_hi", [dSAE], lastFired.map { Float($0 >> 24) }), ("last_fired_lo", [dSAE], lastFired.map { Float($0 & 0xFFFFFF) }),
            ("fire_count_hi", [dSAE], fireCount.map { Float($0 >> 24) }), ("fire_count_lo", [dSAE], fireCount.map { Float($0 & 0xFFFFFF) }),
        ], metadata: metadata)
        try Self.atomicWrite(state, to: directory.appendingPathComponent(Self.stateFile))
    }

    /// Whether `directory` holds a checkpoint `resume` can continue.
    public static func hasCheckpoint(in directory: URL) -> Bool {
        FileManager.default.fileExists(atPath: directory.appendingPathComponent(stateFile).path)
    }

    /// Reloads a run saved by `saveCheckpoint`.
    public static func resume(from directory: URL) throws -> TopKSAETrainer {
        let path = directory.appendingPathComponent(stateFile).path
        guard FileManager.default.fileExists(atPath: path) else {
            throw SAETrainingError("no checkpoint to resume at \(path)")
        }
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(path: path) } catch { throw SAETrainingError("\(stateFile): \(error)") }
        guard file.metadata["format"] == "workbench-topk-trainer-1", let cfgText = file.metadata["config"],
              let config = try? JSONDecoder().decode(TopKSAETrainingConfig.self, from: Data(cfgText.utf8)),
              let scaleBits = file.metadata["input_scale"].flatMap(UInt32.init) else {
            throw SAETrainingError("\(stateFile): not a trainer checkpoint of this workbench")
        }
        let (dIn, dSAE) = (config.dIn, config.dSAE)
        var tensors: [String: [Float]] = [:]
        let shapes: [String: [Int]] = [
            "W_enc_T": [dSAE, dIn], "W_dec": [dSAE, dIn], "b_enc": [dSAE], "b_dec": [dIn],
            "m_W_enc_T": [dSAE, dIn], "v_W_enc_T": [dSAE, dIn], "m_W_dec": [dSAE, dIn], "v_W_dec": [dSAE, dIn],
            "m_b_enc": [dSAE], "v_b_enc": [dSAE], "m_b_dec": [dIn], "v_b_dec": [dIn],
            "last_fired_hi": [dSAE], "last_fired_lo": [dSAE], "fire_count_hi": [dSAE], "fire_count_lo": [dSAE],
        ]
        for (name, shape) in shapes {
            guard let info = file.info(name), info.shape == shape else {
                throw SAETrainingError("\(stateFile): tensor '\(name)' missing or not of shape \(shape)")
            }
            tensors[name] = try file.floats(name)
        }
        func join(_ hi: String, _ lo: String) -> [Int] { zip(tensors[hi]!, tensors[lo]!).map { (Int($0) << 24) | Int($1) } }
        var counters: [String: Int] = [:]
        for key in ["tokens_seen", "steps", "stream_position"] { counters[key] = file.metadata[key].flatMap { Int($0) } ?? 0 }
        return TopKSAETrainer(config: config, scale: Float(bitPattern: scaleBits), tensors: tensors, counters: counters,
                              lastFired: join("last_fired_hi", "last_fired_lo"), fireCount: join("fire_count_hi", "fire_count_lo"))
    }

    /// Writes to a temporary file in the same directory, then renames it over `url`.
    static func atomicWrite(_ data: Data, to url: URL) throws {
        let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(UUID().uuidString)")
        do {
            try data.write(to: tmp)
            guard rename(tmp.path, url.path) == 0 else {
                throw SAETrainingError("cannot rename \(tmp.path) to \(url.path): errno \(errno)")
            }
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            if let e = error as? SAETrainingError { throw e }
            throw SAETrainingError("cannot write \(url.path): \(error.localizedDescription)")
        }
    }
}

/// Writes F32 safetensors files.
public enum SafeTensorsWriter {
    public static func data(_ tensors: [(name: String, shape: [Int], values: [Float])], metadata: [String: String] = [:]) -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for t in tensors {
            precondition(t.shape.reduce(1, *) == t.values.count, "tensor \(t.name): shape \(t.shape) does not match \(t.values.count) values")
            header[t.name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + 4 * t.values.count]] as [String: Any]
            offset += 4 * t.values.count
        }
        var json = try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data(capacity: 8 + json.count + offset)
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
        out.append(json)
        for t in tensors {
            let le = t.values.map { $0.bitPattern.littleEndian }
            le.withUnsafeBytes { out.append(contentsOf: $0) }
        }
        return out
    }
}

/// A small seeded generator (SplitMix64) with Gaussian draws.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in (0, 1].
    public mutating func unit() -> Float { Float((next() >> 40) + 1) / Float(1 << 24) }
    public mutating func gaussian() -> Float {
        let u = unit(), v = unit()
        return (-2 * logf(u)).squareRoot() * cosf(2 * .pi * v)
    }
}
