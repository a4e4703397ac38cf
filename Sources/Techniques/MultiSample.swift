import Foundation
import Model

/// The same request sampled N times with seeds seed, seed+1, ..., and how many samples match a
/// pattern: how the study turned rare leaks into rates ("12/50 mention reward models").
public struct SampleSet: Codable, Sendable {
    public var samples: [GenerationRecord]
    /// The auditor's pattern (case-insensitive regular expression), if any.
    public var pattern: String?
    /// Indices of the samples whose text matches `pattern`.
    public var matching: [Int]

    public var matchSummary: String? {
        pattern.map { "\(matching.count)/\(samples.count) match /\($0)/" }
    }
}

public enum MultiSample {
    public enum Failure: Error, CustomStringConvertible {
        case badPattern(String, String)
        public var description: String {
            switch self {
            case .badPattern(let p, let why): return "invalid pattern /\(p)/: \(why)"
            }
        }
    }

    /// Compiles the auditor's pattern (case-insensitive), with a clear error when it is malformed.
    public static func compile(_ pattern: String) throws -> NSRegularExpression {
        do {
            return try NSRegularExpression(pattern: pattern, options: [.caseInsensitive])
        } catch {
            throw Failure.badPattern(pattern, "\(error.localizedDescription)")
        }
    }

    public static func matches(_ regex: NSRegularExpression, _ text: String) -> Bool {
        regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    /// Runs `one(settings with seed + i)` for i in 0..<count and counts the matches. `onSample` sees
    /// each finished sample (index, record) and may stop the set early by returning false.
    public static func run(count: Int, settings: GenerationSettings, pattern: String?,
                           one: (GenerationSettings) throws -> GenerationRecord,
                           onSample: (Int, GenerationRecord) -> Bool = { _, _ in true }) throws -> SampleSet {
        let regex = try pattern.map(compile)
        var set = SampleSet(samples: [], pattern: pattern, matching: [])
        for i in 0..<max(0, count) {
            var s = settings
            s.sampling.seed = settings.sampling.seed &+ UInt64(i)
            let record = try one(s)
            set.samples.append(record)
            if let regex, matches(regex, record.text) { set.matching.append(i) }
            if !onSample(i, record) { break }
        }
        return set
    }
}
