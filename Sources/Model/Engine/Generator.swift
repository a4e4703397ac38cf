import Foundation

/// Why a generation ended.
public enum StopReason: String, Codable, Sendable {
    case endOfGeneration = "eog"
    case maxTokens = "max_tokens"
    case contextFull = "context_full"
    case cancelled
}

public struct Generation: Sendable {
    public var ids: [TokenID] = []
    public var text: String = ""
    public var stopReason: StopReason = .maxTokens
    /// Prompt tokens evaluated (those not reused from the cache).
    public var promptTokensEvaluated = 0
    public var promptSeconds: Double = 0
    public var generationSeconds: Double = 0

    public var tokensPerSecond: Double {
        generationSeconds > 0 ? Double(ids.count) / generationSeconds : 0
    }
}

/// Runs prompts and generations on one KV cache. A new prompt that starts with the tokens
/// already in the cache only evaluates the rest, so multi-turn chat does not re-read the history.
public final class Generator: @unchecked Sendable {
    public let loaded: LoadedModel
    public let cache: KVCache
    /// Tokens whose keys and values are in the cache, in order.
    public private(set) var cachedTokens: [TokenID] = []
    /// How many tokens the last `evaluate` ran through the model (the rest came from the cache).
    public private(set) var lastEvaluatedCount = 0

    public var contextLength: Int { cache.capacity }
    /// Activation visitors every forward pass of this generator runs with (steering, noise); nil for none.
    public let hooks: ActivationHooks?

    public init(model: LoadedModel, contextLength: Int? = nil, hooks: ActivationHooks? = nil) {
        loaded = model
        self.hooks = hooks
        // An explicit --context may exceed the memory budget (the user chose it); the default may not.
        let n = min(contextLength ?? model.defaultContext, model.model.trainedContextLength)
        cache = model.model.makeCache(capacity: max(n, 16))
        cachedTokens.reserveCapacity(cache.capacity)
    }

    /// Evaluates `prompt`, reusing the longest cached prefix (always re-evaluating at least the last
    /// token, whose logits are needed), and returns the logits after it.
    @discardableResult
    public func evaluate(_ prompt: [TokenID]) throws -> UnsafeBufferPointer<Float> {
        guard !prompt.isEmpty else { throw EngineError.emptyInput }
        guard prompt.count <= cache.capacity else {
            throw EngineError.contextOverflow(needed: prompt.count, limit: cache.capacity)
        }
        var shared = 0
        while shared < min(prompt.count - 1, cachedTokens.count), prompt[shared] == cachedTokens[shared] { shared += 1 }
        cache.truncate(to: shared)
        shared = cache.count  // a sliding-window ring may not keep the prefix
        cachedTokens.removeSubrange(shared...)
        let logits = try loaded.model.forward(Array(prompt[shared...]), cache: cache, hooks: hooks)
        cachedTokens.append(contentsOf: prompt[shared...])
        lastEvaluatedCount = prompt.count - shared
        return logits
    }

    /// Forgets the cache (e.g. after an error left it in doubt).
    public func reset() {
        cache.truncate(to: 0)
        cachedTokens.removeAll(keepingCapacity: true)
    }

    /// Generates up to `maxTokens` after `prompt`. `onToken` receives each id and the text it
    /// completes (UTF-8 safe; may be empty); returning false stops with `.cancelled`. A final call
    /// with id -1 carries bytes held back at the end that never formed a character (as U+FFFD).
    public func generate(prompt: [TokenID], parameters: SamplingParameters, maxTokens: Int,
                         stopAtEndOfGeneration: Bool = true,
                         onToken: (TokenID, String) -> Bool = { _, _ in true }) throws -> Generation {
        var result = Generation()
        let tokenizer = loaded.tokenizer
        let sampler = Sampler(parameters: parameters, vocabularySize: loaded.model.vocabularySize)
        var decoder = StreamingDecoder(tokenizer: tokenizer)
        result.ids.reserveCapacity(max(0, maxTokens))

        let t0 = DispatchTime.now().uptimeNanoseconds
        var logits = try evaluate(prompt)
        result.promptTokensEvaluated = lastEvaluatedCount
        let t1 = DispatchTime.now().uptimeNanoseconds
        result.promptSeconds = Double(t1 - t0) / 1e9

        var history = prompt
        while result.ids.count < maxTokens {
            let next = sampler.sample(logits, history: history[...])
            if stopAtEndOfGeneration && tokenizer.isEndOfGeneration(next) {
                result.stopReason = .endOfGeneration
                break
            }
            result.ids.append(next)
            history.append(next)
            let piece = decoder.append(next)
            result.text += piece
            if !onToken(next, piece) {
                result.stopReason = .cancelled
                break
            }
            if result.ids.count == maxTokens { break }
            if cache.count >= cache.capacity {
                result.stopReason = .contextFull
                break
            }
            var token = next
            logits = try withUnsafePointer(to: &token) {
                try loaded.model.forward(UnsafeBufferPointer(start: $0, count: 1), cache: cache, hooks: hooks)
            }
            cachedTokens.append(next)
        }
        let tail = decoder.flush()
        if !tail.isEmpty {
            result.text += tail
            _ = onToken(-1, tail)
        }
        result.generationSeconds = Double(DispatchTime.now().uptimeNanoseconds - t1) / 1e9
        return result
    }
}
