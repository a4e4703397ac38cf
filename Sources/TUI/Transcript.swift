import Foundation
import Model
import Techniques
import Workbench

/// Plain-text renderings of transcripts and sample sets, for pins and session artifacts.
enum Transcript {
    /// Each turn under the system prompt it was made with (a change is written where it happened),
    /// the model's turns with their sampling settings and seed, and a system prompt set after the
    /// last turn marked as being for the next reply (issue 15, item 11).
    static func render(_ branch: Branch, system now: String) -> String {
        var lines: [String] = []
        var inForce: String?
        for (i, t) in branch.turns.enumerated() {
            let how = branch.made.indices.contains(i) ? branch.made[i] : nil
            // Turns saved before settings were kept per turn: the system prompt now set.
            let system = how?.system ?? now
            if system != (inForce ?? "") {
                lines.append(inForce == nil ? "system: \(system)" : "system (changed before turn \(i + 1)): \(system.isEmpty ? "(the model's default)" : system)")
            }
            inForce = system
            if t.role == "assistant", let sampling = how?.sampling {
                lines.append("assistant [\(sampling)]: \(t.content)")
            } else {
                lines.append("\(t.role): \(t.content)")
            }
        }
        if now != (inForce ?? "") {
            lines.append(inForce == nil ? "system: \(now)" : "system for the next reply (set after these turns): \(now.isEmpty ? "(the model's default)" : now)")
        }
        return lines.joined(separator: "\n")
    }

    static func render(_ run: SampleRun, pattern: String) -> String {
        let matching = Set(run.matching(pattern) ?? [])
        return run.texts.enumerated().map { i, t in
            "--- sample \(i + 1) (seed \(run.seeds[i]))\(matching.contains(i) ? " [match]" : "") ---\n\(t)"
        }.joined(separator: "\n")
    }

    static func countSuffix(_ run: SampleRun, pattern: String) -> String {
        guard let m = run.matching(pattern) else { return "" }
        return ": \(m.count)/\(run.texts.count) match /\(pattern)/"
    }
}
