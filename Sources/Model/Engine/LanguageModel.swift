import CKernels

public typealias TokenID = Int32

/// Errors of running a model (loading errors are `GGUFError`).
public enum EngineError: Error, CustomStringConvertible, Equatable {
    case contextOverflow(needed: Int, limit: Int)
    case emptyInput
    case tokenOutOfRange(TokenID, vocabularySize: Int)
    case unsupportedArchitecture(String)

    public var description: String {
        switch self {
        case .contextOverflow(let needed, let limit):
            return "context overflow: \(needed) tokens needed, the context holds \(limit)"
        case .emptyInput:
            return "nothing to evaluate: the input has no tokens"
        case .tokenOutOfRange(let id, let n):
            return "token id \(id) is outside the vocabulary (0..<\(n))"
        case .unsupportedArchitecture(let name):
            return "unsupported architecture '\(name)' (supported: \(ArchitectureRegistry.names.joined(separator: ", ")))"
        }
    }
}

/// A decoder-only transformer that evaluates tokens against a KV cache.
public protocol LanguageModel: AnyObject, Sendable {
    var architecture: String { get }
    var vocabularySize: Int { get }
    /// The longest context the model was trained for.
    var trainedContextLength: Int { get }
    var layerCount: Int { get }
    var embeddingLength: Int { get }

    func makeCache(capacity: Int) -> KVCache
    /// Bytes a cache of `capacity` positions would hold (makeCache's allocation).
    func cacheBytes(capacity: Int) -> Int

    /// The LoRA adapter applied in the forward pass; nil for none.
    var adapter: LoRAAdapter? { get }
    /// Applies a LoRA adapter from the next forward pass on (nil removes it); throws when it does
    /// not fit the model. Cached keys and values were computed without it.
    func setAdapter(_ adapter: LoRAAdapter?) throws

    /// Evaluates `tokens` at positions cache.count..<cache.count+tokens.count, appends their keys and
    /// values to the cache, and returns the logits after the last token. `hooks` read or change
    /// activations at named points (TransformerLens names) during this call only; nil costs nothing.
    /// The buffer is reused by the next call. Calls from several threads are serialised; copy the
    /// logits before another call.
    func forward(_ tokens: UnsafeBufferPointer<TokenID>, cache: KVCache, hooks: ActivationHooks?) throws -> UnsafeBufferPointer<Float>
}

extension LanguageModel {
    /// Architectures without LoRA support: no adapter, and setting one is an error.
    public var adapter: LoRAAdapter? { nil }
    public func setAdapter(_ adapter: LoRAAdapter?) throws {
        if adapter != nil { throw LoRAError("the \(architecture) architecture does not support LoRA adapters") }
    }

    public func forward(_ tokens: [TokenID], cache: KVCache, hooks: ActivationHooks? = nil) throws -> UnsafeBufferPointer<Float> {
        try tokens.withUnsafeBufferPointer { try forward($0, cache: cache, hooks: hooks) }
    }

    public func forward(_ tokens: UnsafeBufferPointer<TokenID>, cache: KVCache) throws -> UnsafeBufferPointer<Float> {
        try forward(tokens, cache: cache, hooks: nil)
    }
}

/// Keys and values of every layer for positions 0..<count, in f16 as llama.cpp keeps them. Each
/// layer has its own store: a full one (a cell per position up to `capacity`) or, for a layer with
/// sliding-window attention, a ring of cells that holds the last window + batch positions, so a
/// long context costs memory only in the layers that attend to all of it.
public final class KVCache: @unchecked Sendable {
    public let layers: Int
    /// Positions the cache can hold.
    public let capacity: Int
    /// Values per position per layer: kv heads x head dim.
    public let width: Int
    /// Cells of each layer: `capacity` for a full layer, fewer for a ring.
    public let cells: [Int]
    /// The attention window of each layer's ring (0: a full layer).
    public let windows: [Int]
    private let offsets: [Int]
    let keys: UnsafeMutablePointer<UInt16>
    let values: UnsafeMutablePointer<UInt16>
    public internal(set) var count = 0

    /// A full cache: every layer holds every position.
    public convenience init(layers: Int, capacity: Int, width: Int) {
        self.init(capacity: capacity, width: width, windows: [Int](repeating: 0, count: layers), maxBatch: 0)
    }

    /// windows[l] > 0 gives layer l a ring of min(capacity, windows[l] + maxBatch) cells.
    public init(capacity: Int, width: Int, windows: [Int], maxBatch: Int) {
        layers = windows.count
        self.capacity = capacity
        self.width = width
        let cells = windows.map { $0 > 0 ? min(capacity, $0 + maxBatch) : capacity }
        self.cells = cells
        self.windows = zip(windows, cells).map { $0.0 > 0 && $0.1 < capacity ? $0.0 : 0 }
        var offsets: [Int] = [], total = 0
        for c in cells {
            offsets.append(total)
            total += c * width
        }
        self.offsets = offsets
        keys = .allocate(capacity: max(total, 1))
        values = .allocate(capacity: max(total, 1))
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    /// Bytes the cache holds.
    public var bytes: Int { cells.reduce(0, +) * width * 2 * 2 }

    /// Forgets positions from `n` on, keeping a shared prefix for reuse. A ring that has already
    /// overwritten what position n would need keeps nothing (count becomes 0): read `count` after.
    public func truncate(to n: Int) {
        var keep = max(0, min(count, n))
        for (l, window) in windows.enumerated() where window > 0 && keep > 0 {
            // Position `keep` attends to keep-window+1 ..< keep; the ring holds count-cells ..< count.
            if keep - window + 1 < count - cells[l] { keep = 0 }
        }
        count = keep
    }

    func keys(layer: Int) -> UnsafeMutablePointer<UInt16> { keys + offsets[layer] }
    func values(layer: Int) -> UnsafeMutablePointer<UInt16> { values + offsets[layer] }
}

/// Architecture name (general.architecture) -> implementation.
public enum ArchitectureRegistry {
    public typealias Loader = (GGUFFile, WorkerPool) throws -> any LanguageModel

    nonisolated(unsafe) static var loaders: [String: Loader] = [
        "llama": { try TransformerModel(Llama.self, file: $0, pool: $1) },
        "qwen2": { try TransformerModel(Qwen2.self, file: $0, pool: $1) },
        "qwen3": { try TransformerModel(Qwen3.self, file: $0, pool: $1) },
        "gemma2": { try TransformerModel(Gemma2.self, file: $0, pool: $1) },
        "gemma3": { try TransformerModel(Gemma3.self, file: $0, pool: $1) },
    ]

    public static var names: [String] { loaders.keys.sorted() }

    public static func load(_ file: GGUFFile, pool: WorkerPool) throws -> any LanguageModel {
        let arch = try file.string("general.architecture")
        guard let loader = loaders[arch] else { throw EngineError.unsupportedArchitecture(arch) }
        return try loader(file, pool)
    }
}
