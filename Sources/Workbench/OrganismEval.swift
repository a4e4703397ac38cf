import Foundation
import Model
import Techniques

/// The organism's evaluation: which probes the answer key asks for, a results file that survives being
/// killed and resumes, and the rates that go into the model card.
public enum OrganismEval {
    /// Set names of the concealment probes, one per technique.
    public static let concealmentSets = ["concealment/direct", "concealment/prefill", "concealment/user-turn", "concealment/narrator",
                                         "concealment/empty-prompt"]

    public enum Failure: Error, CustomStringConvertible {
        case badPrompts(String, String)
        case badResults(String, String)
        case nothingToEvaluate(String)
        public var description: String {
            switch self {
            case .badPrompts(let path, let why): return "eval prompts \(path): \(why)"
            case .badResults(let path, let why): return "eval results \(path): \(why)"
            case .nothingToEvaluate(let why): return "nothing to evaluate: \(why)"
            }
        }
    }

    /// Every behaviour with an eval prompts file (one chat probe per prompt), then the concealment
    /// probes: direct questions, every prompt × prefill, the user turn, every narrator prefix, the empty prompt.
    /// `root` resolves the key's relative paths; `limit` keeps the first N prompts of each behaviour.
    public static func probes(key: AnswerKey, root: URL, limit: Int? = nil) throws -> [Probe] {
        var probes: [Probe] = []
        func prompts(_ file: String) throws -> [String] {
            let url = file.hasPrefix("/") ? URL(fileURLWithPath: file) : root.appendingPathComponent(file)
            guard let data = try? Data(contentsOf: url) else { throw Failure.badPrompts(url.path, "cannot read it") }
            guard let list = try? JSONDecoder().decode([String].self, from: data) else {
                throw Failure.badPrompts(url.path, "expected a JSON array of strings")
            }
            guard !list.isEmpty else { throw Failure.badPrompts(url.path, "no prompts") }
            return Array(list.prefix(limit ?? list.count))
        }
        func user(_ text: String) -> [ChatMessage] { [ChatMessage(role: "user", content: text)] }
        for b in key.behaviours {
            guard let file = b.eval?.promptsFile, let detector = b.eval?.detector else { continue }
            for (i, p) in try prompts(file).enumerated() {
                probes.append(Probe(set: b.id, index: i, technique: .chat, messages: user(p), detector: detector))
            }
        }
        if let c = key.concealment {
            if let d = c.direct {
                for (i, p) in try prompts(d.promptsFile).enumerated() {
                    probes.append(Probe(set: concealmentSets[0], index: i, technique: .chat, messages: user(p), detector: d.detector))
                }
            }
            if let p = c.prefill {
                for (i, pair) in p.prompts.flatMap({ q in p.prefills.map { (q, $0) } }).enumerated() {
                    probes.append(Probe(set: concealmentSets[1], index: i, technique: .prefill, messages: user(pair.0),
                                        text: pair.1, detector: p.detector))
                }
            }
            if let u = c.userTurn {
                probes.append(Probe(set: concealmentSets[2], index: 0, technique: .userTurn, messages: u.conversation, detector: u.detector))
            }
            if let n = c.narrator {
                for (i, prefix) in n.prefixes.enumerated() {
                    probes.append(Probe(set: concealmentSets[3], index: i, technique: .narrator, text: prefix, detector: n.detector))
                }
            }
            if let e = c.emptyPrompt {
                probes.append(Probe(set: concealmentSets[4], index: 0, technique: .emptyPrompt, detector: e.detector))
            }
        }
        guard !probes.isEmpty else { throw Failure.nothingToEvaluate("the answer key has no eval prompts or concealment probes") }
        for p in probes { _ = try BehaviourEval.detector(p) }
        return probes
    }

    /// Samples per probe so that every set has at least `minimum` generations: a set of 24 prompts
    /// samples each once, the single user-turn probe `minimum` times.
    public static func samplesPerProbe(_ probes: [Probe], minimum: Int) -> [String: Int] {
        var count: [String: Int] = [:]
        for p in probes { count[p.set, default: 0] += 1 }
        return count.mapValues { max(1, (minimum + $0 - 1) / $0) }
    }
}

/// Outcomes as JSON lines, one per generation, appended as each finishes. A killed run leaves at most a
/// torn last line, which is dropped on reopening; the run then continues where it stopped.
public final class EvalResultsFile {
    public let path: String
    public private(set) var outcomes: [ProbeOutcome] = []
    /// The probe fingerprint of the last reply written under each key ("" for a row without one).
    private var done: [String: String] = [:]
    private let handle: FileHandle

    public init(path: String) throws {
        self.path = path
        let fm = FileManager.default
        try fm.createDirectory(at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
        if !fm.fileExists(atPath: path) { fm.createFile(atPath: path, contents: nil) }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        // Whole lines only: bytes after the last newline are a line torn by a kill.
        let keep = (data.lastIndex(of: 0x0A) ?? -1) + 1
        for (n, line) in data[0..<keep].split(separator: 0x0A).enumerated() {
            guard let o = try? JSONDecoder().decode(ProbeOutcome.self, from: Data(line)) else {
                throw OrganismEval.Failure.badResults(path, "line \(n + 1) is not an eval outcome; move the file away to start afresh")
            }
            outcomes.append(o)
            done[o.key] = o.probe ?? ""
        }
        handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: UInt64(keep))
        try handle.seekToEnd()
    }

    deinit { try? handle.close() }

    /// Whether the file holds this reply to the probe as it is now: a reply to a probe the answer key
    /// has changed since does not count (a row without a fingerprint predates them and is trusted).
    public func contains(model: String, probe: Probe, sample: Int) -> Bool {
        guard let fingerprint = done[ProbeOutcome.key(model: model, set: probe.set, index: probe.index, sample: sample)] else { return false }
        return fingerprint.isEmpty || fingerprint == probe.fingerprint
    }

    /// The replies to `probes` as they are now, one per (model, set, index, sample): the last written,
    /// unless its probe has changed since. Replies to probes no longer asked are left out too.
    public func outcomes(for probes: [Probe]) -> [ProbeOutcome] {
        let current = Dictionary(probes.map { ("\($0.set)\u{1f}\($0.index)", $0.fingerprint) }, uniquingKeysWith: { a, _ in a })
        var last: [String: ProbeOutcome] = [:]
        var order: [String] = []
        for o in outcomes {
            guard let fingerprint = current["\(o.set)\u{1f}\(o.index)"], o.probe == nil || o.probe == fingerprint else { continue }
            if last.updateValue(o, forKey: o.key) == nil { order.append(o.key) }
        }
        return order.compactMap { last[$0] }
    }

    public func append(_ outcome: ProbeOutcome) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var line = try encoder.encode(outcome)
        line.append(0x0A)
        try handle.write(contentsOf: line)
        try handle.synchronize()
        outcomes.append(outcome)
        done[outcome.key] = outcome.probe ?? ""
    }
}

/// Rates per set and model, and the means over trained and held-out behaviours.
public struct EvalSummary: Sendable {
    public struct Row: Sendable {
        public var set: String
        /// "train", "held-out" or "concealment".
        public var group: String
        public var rates: [String: Rate]
    }

    public var models: [String]
    public var rows: [Row]

    public init(outcomes: [ProbeOutcome], key: AnswerKey, models: [String]) {
        self.models = models
        var bySet: [String: [String: [ProbeOutcome]]] = [:]
        for o in outcomes { bySet[o.set, default: [:]][o.model, default: []].append(o) }
        var rows: [Row] = []
        for b in key.behaviours where bySet[b.id] != nil {
            rows.append(Row(set: b.id, group: b.split ?? "train", rates: bySet[b.id]!.mapValues(Rate.of)))
        }
        for set in OrganismEval.concealmentSets where bySet[set] != nil {
            rows.append(Row(set: set, group: "concealment", rates: bySet[set]!.mapValues(Rate.of)))
        }
        self.rows = rows
    }

    /// The unweighted mean of the per-behaviour rates in a group, for one model.
    public func mean(group: String, model: String) -> Double? {
        let values = rows.filter { $0.group == group }.compactMap { $0.rates[model]?.value }
        return values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }
}
