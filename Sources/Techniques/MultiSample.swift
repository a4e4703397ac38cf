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
    /// The pattern was matched case-sensitively (`--match-case`); nil or false: case-insensitive.
    public var caseSensitive: Bool? = nil

    public var matchSummary: String? {
        pattern.map { "\(matching.count)/\(samples.count) match /\($0)/" + (caseSensitive == true ? " (case-sensitive)" : "") }
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

    /// Compiles the auditor's pattern (case-insensitive unless `caseSensitive`), with a clear error
    /// when it is malformed.
    public static func compile(_ pattern: String, caseSensitive: Bool = false) throws -> NSRegularExpression {
        do {
            return try NSRegularExpression(pattern: pattern, options: caseSensitive ? [] : [.caseInsensitive])
        } catch {
            throw Failure.badPattern(pattern, "\(error.localizedDescription)")
        }
    }

    public static func matches(_ regex: NSRegularExpression, _ text: String) -> Bool {
        regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    /// Runs `one(settings with seed + i)` for i in 0..<count and counts the matches. `onSample` sees
    /// each finished sample (index, record) and may stop the set early by returning false. With
    /// `concurrency` > 1 that many samples run at once (a serving engine answers requests in
    /// parallel); `onSample` then sees them in the order they finish, one at a time, and the set
    /// lists them in seed order.
    public static func run(count: Int, settings: GenerationSettings, pattern: String?, caseSensitive: Bool = false, concurrency: Int = 1,
                           one: (GenerationSettings) throws -> GenerationRecord,
                           onSample: (Int, GenerationRecord) -> Bool = { _, _ in true }) throws -> SampleSet {
        // A malformed pattern fails before any sample runs.
        if let pattern { _ = try compile(pattern, caseSensitive: caseSensitive) }
        let n = max(0, count)
        func seeded(_ i: Int) -> GenerationSettings {
            var s = settings
            s.sampling.seed = settings.sampling.seed &+ UInt64(i)
            return s
        }
        var records = [GenerationRecord?](repeating: nil, count: n)
        let width = min(max(1, concurrency), n)
        if width <= 1 {
            for i in 0..<n {
                let record = try one(seeded(i))
                records[i] = record
                if !onSample(i, record) { break }
            }
        } else {
            records = try withoutActuallyEscaping(one) { one in
                try withoutActuallyEscaping(onSample) { onSample in
                    let work = ConcurrentSamples(count: n, one: one, onSample: onSample)
                    return try work.run(width: width, settings: seeded)
                }
            }
        }
        return try set(records.compactMap { $0 }, pattern: pattern, caseSensitive: caseSensitive)
    }

    /// Finished samples as a set, with the pattern's matches counted.
    public static func set(_ records: [GenerationRecord], pattern: String?, caseSensitive: Bool = false) throws -> SampleSet {
        let regex = try pattern.map { try compile($0, caseSensitive: caseSensitive) }
        var set = SampleSet(samples: [], pattern: pattern, matching: [], caseSensitive: caseSensitive ? true : nil)
        for record in records {
            if let regex, matches(regex, record.text) { set.matching.append(set.samples.count) }
            set.samples.append(record)
        }
        return set
    }
}

/// Samples on `width` threads pulling the next index; the first error stops the rest. The
/// closures are dropped before `run` returns (they come from withoutActuallyEscaping, and a
/// thread may still hold this object for a moment after its last signal).
private final class ConcurrentSamples: @unchecked Sendable {
    let lock = NSLock()
    var one: ((GenerationSettings) throws -> GenerationRecord)?
    var onSample: ((Int, GenerationRecord) -> Bool)?
    var records: [GenerationRecord?]
    var next = 0
    var stopped = false
    var error: Error?

    init(count: Int, one: @escaping (GenerationSettings) throws -> GenerationRecord,
         onSample: @escaping (Int, GenerationRecord) -> Bool) {
        self.one = one
        self.onSample = onSample
        records = Array(repeating: nil, count: count)
    }

    func run(width: Int, settings: @escaping (Int) -> GenerationSettings) throws -> [GenerationRecord?] {
        let done = DispatchSemaphore(value: 0)
        for _ in 0..<width {
            let thread = Thread { [self] in
                while true {
                    lock.lock()
                    guard !stopped, next < records.count else { lock.unlock(); break }
                    let i = next
                    next += 1
                    let one = self.one!
                    lock.unlock()
                    do {
                        let record = try one(settings(i))
                        lock.lock()
                        if !stopped {
                            records[i] = record
                            if !onSample!(i, record) { stopped = true }
                        }
                        lock.unlock()
                    } catch {
                        lock.lock()
                        if self.error == nil { self.error = error }
                        stopped = true
                        lock.unlock()
                    }
                }
                done.signal()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        for _ in 0..<width { done.wait() }
        lock.lock()
        one = nil
        onSample = nil
        lock.unlock()
        if let error { throw error }
        return records
    }
}
