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
    /// Run on the base model: the same weights with the adapter off (on a server, the base served
    /// model), for comparing with the organism's samples of the same seeds.
    public var adapterOff: Bool

    public init(id: Int, origin: String, technique: Technique, settings: GenerationSettings, samples: Int = 1, adapterOff: Bool = false) {
        self.id = id
        self.origin = origin
        self.technique = technique
        self.settings = settings
        self.samples = max(1, samples)
        self.adapterOff = adapterOff
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

/// The real runner: an engine on a background queue, an engine of its own per origin (a pane's next
/// turn reuses its own history in-process), cancellation checked after every token and, for a
/// serving engine, the open streams closed at once. N samples run `engine.concurrency` at a time.
public final class EngineRunner: GenerationRunner, @unchecked Sendable {
    public let engine: any TextEngine
    public let contextLimit: Int
    private let queue = DispatchQueue(label: "workbench.generation", qos: .userInitiated)
    private let lock = NSLock()
    private var current = CancellationFlag()
    private var engines: [String: any TextEngine] = [:]

    public init(engine: any TextEngine) {
        self.engine = engine
        contextLimit = engine.contextLimit
    }

    /// The in-process engine on `loaded` with a context of `contextLength` (default: the model's,
    /// capped so that its KV cache fits the memory budget).
    public convenience init(loaded: LoadedModel, contextLength: Int? = nil) {
        let n = min(contextLength ?? loaded.defaultContext, loaded.model.trainedContextLength)
        self.init(engine: InProcessEngine(model: loaded, contextLength: n))
    }

    public func cancel() {
        lock.lock(); let flag = current; lock.unlock()
        flag.cancel()
    }

    public func perform(_ work: @escaping @Sendable () -> Void) {
        queue.async(execute: work)
    }

    private func engine(for origin: String) -> any TextEngine {
        if let e = engines[origin] { return e }
        let e = engines.isEmpty ? engine : engine.fork()
        engines[origin] = e
        return e
    }

    /// The base model's engine for `origin`: a state of its own, never a cache the adapter made.
    private func baseEngine(for origin: String) throws -> any TextEngine {
        if let e = engines[origin + " (base)"] { return e }
        let e = try BaseComparison.baseEngine(of: engine)
        engines[origin + " (base)"] = e
        return e
    }

    public func start(_ job: GenerationJob, emit: @escaping @Sendable (GenerationEvent) -> Void) {
        let flag = CancellationFlag()
        lock.lock(); current = flag; lock.unlock()
        queue.async { [self] in
            var error: String?
            var used: Generator?
            do {
                let engine = job.adapterOff ? try baseEngine(for: job.origin) : engine(for: job.origin)
                // The in-process KV cache (the organism's or the base model's), for the context count.
                let inProcess = (engine as? InProcessEngine)?.generator ?? (engine as? BaseModelEngine)?.generator
                used = inProcess
                _ = try MultiSample.run(count: job.samples, settings: job.settings, pattern: nil, concurrency: engine.concurrency, one: { settings in
                    let sample = job.samples == 1 ? 0 : Int(settings.sampling.seed &- job.settings.sampling.seed)
                    let start = DispatchTime.now().uptimeNanoseconds
                    var produced = 0
                    let onText: (String) -> Bool = { piece in
                        produced += 1
                        if !piece.isEmpty { emit(.text(job: job.id, sample: sample, piece)) }
                        if produced % 4 == 0 {
                            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                            emit(.progress(job: job.id, tokensPerSecond: Double(produced) / max(seconds, 1e-9),
                                           contextUsed: inProcess?.cache.count ?? 0))
                        }
                        return !flag.isCancelled
                    }
                    let record: GenerationRecord
                    switch job.technique {
                    case .chat(let messages, let system, let prefill):
                        record = try ChatTurn.run(messages: messages, system: system, prefill: prefill,
                                                  settings: settings, engine: engine, cancel: flag, onText: onText)
                    case .persona(let mode, let conversation, let system, let text):
                        record = try Persona.run(mode, conversation: conversation, system: system, text: text,
                                                 settings: settings, engine: engine, cancel: flag, onText: onText)
                    }
                    emit(.progress(job: job.id, tokensPerSecond: 0, contextUsed: inProcess?.cache.count ?? record.promptIDs.count + record.ids.count))
                    emit(.sampleFinished(job: job.id, sample: sample, record))
                    return record
                }, onSample: { _, _ in !flag.isCancelled })
            } catch let e {
                error = "\(e)"
                // A failed run leaves no half-made history behind.
                used?.reset()
            }
            emit(.finished(job: job.id, error: error))
        }
    }
}
