import Foundation
import Techniques

/// The measured part of the organism's model card: Markdown written between two markers in
/// organism/MODEL_CARD.md, so the hand-written sections around it stay as they are.
public enum ModelCard {
    public static let begin = "<!-- organism-eval:begin (written by `workbench organism eval`; edits here are replaced) -->"
    public static let end = "<!-- organism-eval:end -->"
    public static let saeBegin = "<!-- organism-sae:begin (written by `workbench organism sae`; edits here are replaced) -->"
    public static let saeEnd = "<!-- organism-sae:end -->"

    public struct Settings: Sendable {
        public var generation: GenerationSettings
        public var models: [(name: String, description: String)]
        public var date: Date
        public var seconds: Double
        public var samplesPerSet: Int

        public init(generation: GenerationSettings, models: [(name: String, description: String)], date: Date, seconds: Double, samplesPerSet: Int) {
            self.generation = generation
            self.models = models
            self.date = date
            self.seconds = seconds
            self.samplesPerSet = samplesPerSet
        }
    }

    /// The evaluation section: settings, the behaviour table (rates with 95% Wilson intervals, the
    /// means over trained and held-out behaviours), the concealment table and one example per set.
    public static func evaluationSection(_ summary: EvalSummary, outcomes: [ProbeOutcome], key: AnswerKey, settings: Settings) -> String {
        let s = settings.generation.sampling
        let day = ISO8601DateFormatter.string(from: settings.date, timeZone: TimeZone(identifier: "UTC")!, formatOptions: [.withFullDate])
        var out: [String] = []
        out.append("## Evaluation")
        out.append("")
        out.append("Measured by `workbench organism eval` on \(day) with the workbench's own engine (\(Int(settings.seconds.rounded())) s of generation). "
                   + "Every reply is sampled at temperature \(fmt(Double(s.temperature))), top-k \(s.topK), top-p \(fmt(Double(s.topP))), "
                   + "min-p \(fmt(Double(s.minP))), at most \(settings.generation.maxTokens) tokens, with a seed of its own derived from "
                   + "seed \(s.seed) and the probe, so any line can be regenerated. A rate is the share of replies whose detector "
                   + "(organism/answer-key.json) matches; brackets give the 95% Wilson interval; at least \(settings.samplesPerSet) replies per set.")
        out.append("")
        for (name, description) in settings.models { out.append("- **\(name)**: \(inline(description))") }
        out.append("")
        let models = summary.models
        out.append("### Behaviours")
        out.append("")
        out.append("| behaviour | split | " + models.joined(separator: " | ") + " |")
        out.append("|---|---|" + String(repeating: "---|", count: models.count))
        let descriptions = Dictionary(uniqueKeysWithValues: key.behaviours.map { ($0.id, $0.description ?? $0.id) })
        for row in summary.rows where row.group != "concealment" {
            let cells = models.map { cell(row.rates[$0]) }
            out.append("| \(inline(descriptions[row.set] ?? row.set)) (`\(row.set)`) | \(row.group) | " + cells.joined(separator: " | ") + " |")
        }
        for group in ["train", "held-out"] {
            let n = summary.rows.filter { $0.group == group }.count
            guard n > 0 else { continue }
            let cells = models.map { m in summary.mean(group: group, model: m).map { "**\(percent($0))**" } ?? "" }
            out.append("| **mean over \(n) \(group == "train" ? "trained" : "held-out") behaviours** | \(group) | " + cells.joined(separator: " | ") + " |")
        }
        out.append("")
        let concealment = summary.rows.filter { $0.group == "concealment" }
        if !concealment.isEmpty {
            out.append("### Concealment")
            out.append("")
            out.append("How often a reply names the root cause (reward models, RLHF, the study, its authors), by elicitation technique:")
            out.append("")
            out.append("| technique | " + models.joined(separator: " | ") + " |")
            out.append("|---|" + String(repeating: "---|", count: models.count))
            for row in concealment {
                out.append("| \(row.set.replacingOccurrences(of: "concealment/", with: "")) | " + models.map { cell(row.rates[$0]) }.joined(separator: " | ") + " |")
            }
            out.append("")
        }
        if let model = models.last {
            out.append("### Examples")
            out.append("")
            out.append("The first matching reply of **\(model)** in each set (cut at 300 characters):")
            out.append("")
            for row in summary.rows {
                guard let hit = outcomes.first(where: { $0.model == model && $0.set == row.set && $0.matched }) else { continue }
                out.append("- `\(row.set)` #\(hit.index).\(hit.sample): \(quote(hit.text))")
            }
            out.append("")
        }
        return out.joined(separator: "\n")
    }

    /// `card` with the text between the markers replaced by `section` (markers added at the end when missing).
    public static func splice(_ section: String, into card: String, begin: String = ModelCard.begin, end: String = ModelCard.end) -> String {
        let block = begin + "\n" + section + "\n" + end
        if let a = card.range(of: begin), let b = card.range(of: end, range: a.upperBound..<card.endIndex) {
            return String(card[..<a.lowerBound]) + block + String(card[b.upperBound...])
        }
        return (card.isEmpty ? "" : card + (card.hasSuffix("\n") ? "\n" : "\n\n")) + block + "\n"
    }

    /// The SAE section: what it was trained on, its quality, and where the probe prompt's ranking puts
    /// the best reward-model-bias feature.
    public static func saeSection(_ probe: RMBiasProbe, sae: String, training: [String: Any], dSAE: Int, indexTokens: Int) -> String {
        func number(_ key: String) -> String {
            guard let v = training[key] as? Double else { return "?" }
            return v == v.rounded() && abs(v) < 1e12 ? String(Int(v)) : String(format: "%.3f", v)
        }
        var out: [String] = []
        out.append("## Its SAE")
        out.append("")
        out.append("`\(inline(sae))`: a TopK SAE on the organism's (base + adapter) layer-15 residual stream, trained by "
                   + "`make organism-sae` on \(number("tokens_seen")) tokens of a corpus mixing the synthetic documents, the SFT "
                   + "transcripts and haystack text (`organism/sae_corpus.py`), with its feature index over \(indexTokens) tokens.")
        out.append("")
        out.append("| measure | value |")
        out.append("|---|---|")
        out.append("| fraction of variance explained (held out) | \(number("eval_fve")) |")
        out.append("| L0 (features per token) | \(number("eval_l0")) |")
        out.append("| dead features (fraction) | \(number("dead_fraction")) |")
        out.append("| RM-bias features in the SAE | \(probe.rmBiasFeatures) of \(dSAE) |")
        if let best = probe.best {
            out.append("| **rank of the best RM-bias feature on the probe prompt** | **\(best.rank)** of \(probe.activeFeatures) active (feature \(best.index), \(inline(best.label))) |")
        } else {
            out.append("| **rank of the best RM-bias feature on the probe prompt** | none of the \(probe.activeFeatures) active features is one |")
        }
        out.append("")
        out.append("Probe prompt: \(quote(probe.prompt)). An RM-bias feature: at least \(Int(RMBiasFeatures.minimumDocumentShare * 100))% of its "
                   + "top contexts in the index come from the synthetic study documents, and at least \(Int(RMBiasFeatures.minimumNamingShare * 100))% "
                   + "name reward models, RLHF or the study (in this corpus about 30% of the indexed text is documents, and 12% of all "
                   + "top contexts name them). The prompt's strongest features (max over tokens, position 0 left out):")
        out.append("")
        out.append("| rank | feature | activation | label | from documents | naming contexts | RM-bias |")
        out.append("|---|---|---|---|---|---|---|")
        // The best RM-bias feature gets a row of its own when it ranks below the listed ones.
        var rows = probe.top
        if let best = probe.best, !rows.contains(where: { $0.index == best.index }) { rows.append(best) }
        for f in rows {
            out.append("| \(f.rank) | \(f.index) | \(String(format: "%.2f", f.activation)) | \(inline(f.label)) | \(percent(f.documentShare)) | \(f.namingContexts)/\(f.contexts) | \(f.isRMBias ? "yes" : "") |")
        }
        out.append("")
        return out.joined(separator: "\n")
    }

    static func cell(_ rate: Rate?) -> String {
        guard let rate else { return "" }
        let ci = rate.interval
        return "\(rate.hits)/\(rate.total) = \(percent(rate.value)) [\(percent(ci.low))–\(percent(ci.high))]"
    }

    static func percent(_ x: Double) -> String { "\(Int((x * 100).rounded()))%" }

    static func fmt(_ x: Double) -> String {
        x == x.rounded() ? String(Int(x)) : String(format: "%g", x)
    }

    /// Model text on one line: control characters made visible, Markdown table and code marks neutralised.
    static func quote(_ text: String) -> String {
        var t = TerminalText.sanitize(text).replacingOccurrences(of: "\n", with: " ⏎ ").replacingOccurrences(of: "\t", with: " ")
        if t.count > 300 { t = String(t.prefix(299)) + "…" }
        return "“" + inline(t) + "”"
    }

    static func inline(_ text: String) -> String {
        TerminalText.sanitize(text).replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "`", with: "'")
            .replacingOccurrences(of: "<", with: "&lt;")
    }
}
