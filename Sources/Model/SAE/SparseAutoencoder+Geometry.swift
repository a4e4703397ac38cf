import Foundation

/// A feature and how close its decoder direction is to another's.
public struct FeatureNeighbour: Sendable, Equatable, Codable {
    public var index: Int
    /// cos(W_dec[f], W_dec[index]).
    public var cosine: Float
    public init(index: Int, cosine: Float) {
        self.index = index
        self.cosine = cosine
    }
}

extension SparseAutoencoder {
    /// The encoder's SIMD dot product of `n` floats, for callers outside the module (the feature
    /// index's logit lens).
    public static func dotProduct(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        dot(a, b, n)
    }

    /// The `count` features whose decoder directions have the largest cosine with `feature`'s
    /// (largest first, ties to the lower index; the feature itself and zero rows excluded).
    /// Uses the stored W_dec rows: the input scale divides every row alike and leaves cosines as they are.
    public func nearestFeatures(to feature: Int, count: Int) -> [FeatureNeighbour] {
        precondition(feature >= 0 && feature < dSAE, "feature \(feature) is outside 0..<\(dSAE)")
        guard count > 0 else { return [] }
        let n = dIn
        var cosines = [Float](repeating: -.infinity, count: dSAE)
        decoderRows.withUnsafeBufferPointer { w in
            let base = w.baseAddress!
            let target = base + feature * n
            let targetNorm = SparseAutoencoder.dot(target, target, n).squareRoot()
            guard targetNorm > 0 else { return }
            for j in 0..<dSAE where j != feature {
                let row = base + j * n
                let norm = SparseAutoencoder.dot(row, row, n).squareRoot()
                if norm > 0 { cosines[j] = SparseAutoencoder.dot(target, row, n) / (norm * targetNorm) }
            }
        }
        return SparseAutoencoder.topIndices(cosines, count)
            .filter { cosines[$0].isFinite }
            .map { FeatureNeighbour(index: $0, cosine: cosines[$0]) }
    }

    /// A 64-bit FNV-1a-style hash (one 32-bit word per step) of the shape and the decoder
    /// weights' bits: a feature index records it so that an index built for other weights is
    /// refused instead of mislabelling features.
    public var weightsFingerprint: String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ x: UInt32) { h = (h ^ UInt64(x)) &* 0x0000_0100_0000_01b3 }
        mix(UInt32(truncatingIfNeeded: dIn))
        mix(UInt32(truncatingIfNeeded: dSAE))
        for v in decoderRows { mix(v.bitPattern) }
        return String(h, radix: 16)
    }
}
