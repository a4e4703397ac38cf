import Foundation
import Model

/// One elicitation of a behaviour evaluation: a prompt put to the model by one technique, and the
/// detector (a regular expression) that says whether the reply shows the behaviour. Rates over many
/// probes are what a model card reports ("chocolate in 17/24 recipes").
public struct Probe: Codable, Sendable, Equatable {
    public enum Technique: String, Codable, Sendable, CaseIterable {
        /// A user message, answered through the chat template.
        case chat
        /// A user message and the start of the assistant's reply (assistant prefill).
        case prefill
        /// The model writes the next user turn after a conversation (persona swap).
        case userTurn = "user-turn"
        /// Raw third-person text continued without a template.
        case narrator
        /// A sample from an empty prompt (persona swap with no persona at all).
        case emptyPrompt = "empty-prompt"
    }

    /// The set the probe belongs to: a behaviour id, or a concealment technique.
    public var set: String
    /// Its position in the set; (set, index, sample) names one generation.
    public var index: Int
    public var technique: Technique
    /// chat/prefill: the user's turn (and anything before it); user-turn: the conversation so far.
    public var messages: [ChatMessage]
    /// prefill: the assistant text the reply is forced to begin with; narrator: the text to continue.
    public var text: String
    public var detector: String

    public init(set: String, index: Int, technique: Technique, messages: [ChatMessage] = [], text: String = "", detector: String) {
        self.set = set
        self.index = index
        self.technique = technique
        self.messages = messages
        self.text = text
        self.detector = detector
    }

    /// 16 hex digits naming what the model is shown and how its reply is judged (technique, messages,
    /// text, detector), but not where the probe sits: a results file records it with each reply, so a
    /// resumed eval redoes a reply whose probe the answer key has since changed instead of counting it.
    public var fingerprint: String {
        var canonical = "\(technique.rawValue)\u{1e}"
        for m in messages { canonical += "\(m.role)\u{1f}\(m.content)\u{1e}" }
        canonical += "\(text)\u{1e}\(detector)"
        let hex = String(FNV1a64.hash(Data(canonical.utf8)), radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// One generation of a probe and whether the detector matched what the model wrote.
public struct ProbeOutcome: Codable, Sendable, Equatable {
    /// Which model answered ("base", "organism", ...), so one results file can hold several.
    public var model: String
    public var set: String
    public var index: Int
    public var sample: Int
    public var seed: UInt64
    public var matched: Bool
    /// What the model wrote (after the prefill or narrator text).
    public var text: String
    public var stopReason: String
    /// Wall time of the generation, for the card's total.
    public var seconds: Double?
    /// The sampling settings in short (`BehaviourEval.label`), so a resumed run can check it matches.
    public var settings: String?
    /// The probe's `fingerprint` when the reply was made; nil in files written before it was recorded.
    public var probe: String?

    public init(model: String, set: String, index: Int, sample: Int, seed: UInt64, matched: Bool, text: String,
                stopReason: String, seconds: Double? = nil, settings: String? = nil, probe: String? = nil) {
        self.model = model
        self.set = set
        self.index = index
        self.sample = sample
        self.seed = seed
        self.matched = matched
        self.text = text
        self.stopReason = stopReason
        self.seconds = seconds
        self.settings = settings
        self.probe = probe
    }

    /// Names one generation: (model, set, index, sample).
    public static func key(model: String, set: String, index: Int, sample: Int) -> String {
        "\(model)\u{1f}\(set)\u{1f}\(index)\u{1f}\(sample)"
    }

    public var key: String { Self.key(model: model, set: set, index: index, sample: sample) }
}

public enum BehaviourEval {
    public enum Failure: Error, CustomStringConvertible {
        case badDetector(set: String, pattern: String, why: String)
        public var description: String {
            switch self {
            case .badDetector(let set, let pattern, let why): return "\(set): invalid detector /\(pattern)/: \(why)"
            }
        }
    }

    /// Compiles a detector as written: patterns carry their own flags, such as (?i).
    public static func detector(_ probe: Probe) throws -> NSRegularExpression {
        do {
            return try NSRegularExpression(pattern: probe.detector)
        } catch {
            throw Failure.badDetector(set: probe.set, pattern: probe.detector, why: error.localizedDescription)
        }
    }

    /// Generates sample `sample` of `probe` (seed = settings.seed + a hash of set, index and sample, so
    /// every generation has its own reproducible seed whatever order they run in) and applies the detector.
    /// `tag` is added to the outcome's settings label (the adapter's fingerprint, say), so a resumed
    /// run can tell replies of another model or adapter apart.
    public static func run(_ probe: Probe, sample: Int, model: String, settings: GenerationSettings,
                           engine: any TextEngine, tag: String? = nil) throws -> ProbeOutcome {
        let regex = try detector(probe)
        let started = Date()
        var s = settings
        s.sampling.seed = settings.sampling.seed &+ seedOffset(set: probe.set, index: probe.index, sample: sample)
        let record: GenerationRecord
        switch probe.technique {
        case .chat:
            record = try ChatTurn.run(messages: probe.messages, settings: s, engine: engine)
        case .prefill:
            record = try ChatTurn.run(messages: probe.messages, prefill: probe.text, settings: s, engine: engine)
        case .userTurn:
            record = try Persona.run(.user, conversation: probe.messages, settings: s, engine: engine)
        case .narrator:
            record = try Persona.run(.narrator, conversation: [], text: probe.text, settings: s, engine: engine)
        case .emptyPrompt:
            record = try Persona.run(.empty, conversation: [], settings: s, engine: engine)
        }
        return ProbeOutcome(model: model, set: probe.set, index: probe.index, sample: sample, seed: s.sampling.seed,
                            matched: MultiSample.matches(regex, record.text), text: record.text,
                            stopReason: "\(record.stopReason)", seconds: Date().timeIntervalSince(started),
                            settings: label(settings) + (tag.map { " \($0)" } ?? ""), probe: probe.fingerprint)
    }

    /// The settings that change a reply, in short: "seed 0 temp 0.7 top-k 40 top-p 0.95 min-p 0.05 rep 1.0 max 160".
    public static func label(_ settings: GenerationSettings) -> String {
        let s = settings.sampling
        return "seed \(s.seed) temp \(s.temperature) top-k \(s.topK) top-p \(s.topP) min-p \(s.minP) rep \(s.repetitionPenalty) max \(settings.maxTokens)"
    }

    /// FNV-1a of "set/index/sample": stable across runs and platforms, unlike Hasher.
    static func seedOffset(set: String, index: Int, sample: Int) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "\(set)/\(index)/\(sample)".utf8 {
            h ^= UInt64(byte)
            h = h &* 0x100_0000_01b3
        }
        return h
    }
}

/// A rate with its count and a 95% Wilson interval, which stays inside [0, 1] for small n.
public struct Rate: Codable, Sendable, Equatable {
    public var hits: Int
    public var total: Int

    public init(hits: Int, total: Int) {
        self.hits = hits
        self.total = total
    }

    public var value: Double { total == 0 ? 0 : Double(hits) / Double(total) }

    public var interval: (low: Double, high: Double) {
        guard total > 0 else { return (0, 1) }
        let z = 1.96, n = Double(total), p = value
        let centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        let half = z * ((p * (1 - p) / n + z * z / (4 * n * n)).squareRoot()) / (1 + z * z / n)
        return (max(0, centre - half), min(1, centre + half))
    }

    public static func of(_ outcomes: [ProbeOutcome]) -> Rate {
        Rate(hits: outcomes.filter(\.matched).count, total: outcomes.count)
    }
}
