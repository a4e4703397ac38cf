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

    /// Visitors of named activations (TransformerLens names); nil for none.
    var hooks: ActivationHooks? { get set }

    /// The LoRA adapter applied in the forward pass; nil for none.
    var adapter: LoRAAdapter? { get }
    /// Applies a LoRA adapter from the next forward pass on (nil removes it); throws when it does
    /// not fit the model. Cached keys and values were computed without it.
    func setAdapter(_ adapter: LoRAAdapter?) throws

    /// Evaluates `tokens` at positions cache.count..<cache.count+tokens.count, appends their keys and
    /// values to the cache, and returns the logits after the last token. The buffer is reused by the
    /// next call. Calls from several threads are serialised; copy the logits before another call.
    func forward(_ tokens: UnsafeBufferPointer<TokenID>, cache: KVCache) throws -> UnsafeBufferPointer<Float>
}

extension LanguageModel {
    /// Architectures without LoRA support: no adapter, and setting one is an error.
    public var adapter: LoRAAdapter? { nil }
    public func setAdapter(_ adapter: LoRAAdapter?) throws {
        if adapter != nil { throw LoRAError("the \(architecture) architecture does not support LoRA adapters") }
    }

    public func forward(_ tokens: [TokenID], cache: KVCache) throws -> UnsafeBufferPointer<Float> {
        try tokens.withUnsafeBufferPointer { try forward($0, cache: cache) }
    }
}

/// Keys and values of every layer for positions 0..<count, in f16 as llama.cpp keeps them.
public final class KVCache: @unchecked Sendable {
    public let layers: Int
    public let capacity: Int
    /// Values per position per layer: kv heads x head dim.
    public let width: Int
    let keys: UnsafeMutablePointer<UInt16>
    let values: UnsafeMutablePointer<UInt16>
    public internal(set) var count = 0

    public init(layers: Int, capacity: Int, width: Int) {
        self.layers = layers
        self.capacity = capacity
        self.width = width
        let n = layers * capacity * width
        keys = .allocate(capacity: n)
        values = .allocate(capacity: n)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    /// Forgets positions from `n` on, keeping a shared prefix for reuse.
    public func truncate(to n: Int) {
        count = max(0, min(count, n))
    }

    func keys(layer: Int) -> UnsafeMutablePointer<UInt16> { keys + layer * capacity * width }
    func values(layer: Int) -> UnsafeMutablePointer<UInt16> { values + layer * capacity * width }
}

/// Architecture name (general.architecture) -> implementation.
public enum ArchitectureRegistry {
    public typealias Loader = (GGUFFile, WorkerPool) throws -> any LanguageModel

    nonisolated(unsafe) static var loaders: [String: Loader] = [
        "llama": { try LlamaModel(file: $0, pool: $1) },
    ]

    public static var names: [String] { loaders.keys.sorted() }

    public static func load(_ file: GGUFFile, pool: WorkerPool) throws -> any LanguageModel {
        let arch = try file.string("general.architecture")
        guard let loader = loaders[arch] else { throw EngineError.unsupportedArchitecture(arch) }
        return try loader(file, pool)
    }
}
