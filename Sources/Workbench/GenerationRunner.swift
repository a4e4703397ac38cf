import Foundation
import Model
import Techniques

/// A generation the workbench asks for: a technique, its settings, and how many samples.
public struct GenerationJob: Sendable, Equatable {
    public enum Technique: Sendable, Equatable {
        /// A chat reply through the template; `prefill` is the start of the assistant's reply.
        case chat(messages: [ChatMessage], system: String?, prefill: String)
        /// Persona swap: the model writes the user's turn, narrator text, or from an empty prompt.
        case persona(mode: PersonaMode, conversation: [ChatMessage], system: String?, text: String)
    }
    public var id: Int
    /// Which part of the workbench asked (a pane name); the runner only passes it back.
    public var origin: String
    public var technique: Technique
    public var settings: GenerationSettings
    /// 1 for a plain reply; N samples use seeds seed, seed+1, ... (MultiSample).
    public var samples: Int

    public init(id: Int, origin: String, technique: Technique, settings: GenerationSettings, samples: Int = 1) {
        self.id = id
        self.origin = origin
        self.technique = technique
        self.settings = settings
        self.samples = max(1, samples)
    }
}

/// What a running generation reports, in order: text pieces per sample as they stream, each
/// finished sample, then `finished` exactly once.
public enum GenerationEvent: Sendable {
    case text(job: Int, sample: Int, String)
    case sampleFinished(job: Int, sample: Int, GenerationRecord)
    /// Throughput and context use, every few tokens.
    case progress(job: Int, tokensPerSecond: Double, contextUsed: Int)
    case finished(job: Int, error: String?)
}

/// Runs generations off the caller's thread. One at a time: the model has one forward pass.
public protocol GenerationRunner: AnyObject, Sendable {
    var contextLimit: Int { get }
    /// Starts `job`; events arrive on a background thread through `emit`.
    func start(_ job: GenerationJob, emit: @escaping @Sendable (GenerationEvent) -> Void)
    /// Asks the running job to stop after its current token (it then finishes with `.cancelled`).
    func cancel()
    /// Runs other work on the model (reading activations, steering) in turn with generations:
    /// it installs hooks on the model, so it must never overlap one.
    func perform(_ work: @escaping @Sendable () -> Void)
}

/// The real runner: the loaded model on a background thread, a KV cache per origin (a pane's
/// next turn reuses its own history), cancellation checked after every token.
public final class ModelRunner: GenerationRunner, @unchecked Sendable {
    public let loaded: LoadedModel
    public let contextLimit: Int
    private let queue = DispatchQueue(label: "workbench.generation", qos: .userInitiated)
    private let lock = NSLock()
    private var cancelled = false
    private var generators: [String: Generator] = [:]

    public init(loaded: LoadedModel, contextLength: Int? = nil) {
        self.loaded = loaded
        contextLimit = min(contextLength ?? loaded.model.trainedContextLength, loaded.model.trainedContextLength)
    }

    public func cancel() {
        lock.lock(); cancelled = true; lock.unlock()
    }

    public func perform(_ work: @escaping @Sendable () -> Void) {
        queue.async(execute: work)
    }

    private var isCancelled: Bool {
        lock.lock(); defer { lock.unlock() }
        return cancelled
    }

    private func generator(for origin: String) -> Generator {
        if let g = generators[origin] { return g }
        let g = Generator(model: loaded, contextLength: contextLimit)
        generators[origin] = g
        return g
    }

    public func start(_ job: GenerationJob, emit: @escaping @Sendable (GenerationEvent) -> Void) {
        lock.lock(); cancelled = false; lock.unlock()
        queue.async { [self] in
            let generator = generator(for: job.origin)
            var error: String?
            do {
                _ = try MultiSample.run(count: job.samples, settings: job.settings, pattern: nil, one: { settings in
                    let sample = job.samples == 1 ? 0 : Int(settings.sampling.seed &- job.settings.sampling.seed)
                    let start = DispatchTime.now().uptimeNanoseconds
                    var produced = 0
                    let onText: (String) -> Bool = { piece in
                        produced += 1
                        if !piece.isEmpty { emit(.text(job: job.id, sample: sample, piece)) }
                        if produced % 4 == 0 {
                            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                            emit(.progress(job: job.id, tokensPerSecond: Double(produced) / max(seconds, 1e-9),
                                           contextUsed: generator.cache.count))
                        }
                        return !self.isCancelled
                    }
                    let record: GenerationRecord
                    switch job.technique {
                    case .chat(let messages, let system, let prefill):
                        record = try ChatTurn.run(messages: messages, system: system, prefill: prefill,
                                                  settings: settings, generator: generator, onText: onText)
                    case .persona(let mode, let conversation, let system, let text):
                        let prompt = try Persona.prompt(mode, conversation: conversation, system: system, text: text, model: loaded)
                        record = try RawCompletion.run(prompt, settings: settings, generator: generator, onText: onText)
                    }
                    emit(.progress(job: job.id, tokensPerSecond: 0, contextUsed: generator.cache.count))
                    emit(.sampleFinished(job: job.id, sample: sample, record))
                    return record
                }, onSample: { _, _ in !self.isCancelled })
            } catch let e as CustomStringConvertible {
                error = e.description
                generator.reset()
            } catch let e {
                error = "\(e)"
                generator.reset()
            }
            emit(.finished(job: job.id, error: error))
        }
    }
}
