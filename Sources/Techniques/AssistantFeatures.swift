import Foundation
import Model

/// A conversation rendered with the model's chat template, with where its assistant turns are.
public struct RenderedConversation: Sendable, Equatable {
    public var text: String
    public var tokens: [TokenID]
    /// Token ranges of the assistant messages' content, one per assistant message, in order.
    public var assistantRanges: [Range<Int>]

    /// Whether token `t` belongs to an assistant message.
    public func isAssistant(_ t: Int) -> Bool { assistantRanges.contains { $0.contains(t) } }
}

/// A feature and how often it fires on assistant tokens.
public struct AssistantFeature: Sendable, Equatable, Codable {
    public var index: Int
    /// Fraction of assistant tokens on which it fired.
    public var assistantFraction: Double
    /// Mean activation over all assistant tokens (zeros included).
    public var meanActivation: Double
    /// Fraction of the other tokens (system, user, template markup) on which it fired.
    public var otherFraction: Double
    public var label: String?

    enum CodingKeys: String, CodingKey {
        case index, label
        case assistantFraction = "assistant_fraction", meanActivation = "mean_activation", otherFraction = "other_fraction"
    }
}

public struct AssistantFeatureReport: Sendable, Equatable, Codable {
    public var hook: String
    public var conversations: Int
    public var assistantTokens: Int
    public var otherTokens: Int
    /// Ranked by assistant fraction, then mean activation, then lower index.
    public var features: [AssistantFeature]

    enum CodingKeys: String, CodingKey {
        case hook, conversations, features
        case assistantTokens = "assistant_tokens", otherTokens = "other_tokens"
    }
}

/// Features active on most assistant tokens across a set of conversations: each is rendered with
/// the model's chat template, read at the SAE's hook, and every token inside an assistant
/// message's content is encoded.
public enum AssistantFeatures {
    public enum Failure: Error, CustomStringConvertible, Equatable {
        case noAssistantTurn
        case contentNotFound(message: Int)
        case tokensDoNotCoverText
        case tooLong(tokens: Int, limit: Int)
        case badFile(String)
        public var description: String {
            switch self {
            case .noAssistantTurn: return "no conversation has an assistant message"
            case .contentNotFound(let m): return "message \(m): its content does not appear in the template's rendering (the template rewrites it)"
            case .tokensDoNotCoverText: return "the tokens of the rendered conversation do not spell its text"
            case .tooLong(let n, let limit): return "a conversation has \(n) tokens; the model's context holds \(limit)"
            case .badFile(let why): return why
            }
        }
    }

    /// Renders `messages` (no generation prompt), tokenises the text and finds the token range of
    /// each assistant message's content. A token is in the range when its bytes overlap the
    /// content's bytes; the template's markup around it (role header, end-of-turn token) is not.
    public static func render(_ messages: [ChatMessage], model loaded: LoadedModel) throws -> RenderedConversation {
        let text = try loaded.chatPrompt(messages, addGenerationPrompt: false)
        let bytes = Array(text.utf8)
        // Byte span of each assistant message's content: search from the end of the rendering of
        // the messages before it (with the assistant header opened), so an earlier occurrence of the
        // same words (or of the role name) is never taken.
        var spans: [Range<Int>] = []
        var cursor = 0
        for (m, message) in messages.enumerated() {
            // A template may not render a prefix (e.g. none at all); then the cursor alone orders the search.
            if m > 0, let before = try? loaded.chatPrompt(Array(messages[..<m]), addGenerationPrompt: message.role == "assistant"),
               text.hasPrefix(before) {
                cursor = max(cursor, before.utf8.count)
            }
            let content = Array(message.content.utf8)
            guard !content.isEmpty else { continue }
            guard let at = find(content, in: bytes, from: cursor) else {
                if message.role == "assistant" { throw Failure.contentNotFound(message: m) }
                continue
            }
            if message.role == "assistant" { spans.append(at..<(at + content.count)) }
            cursor = at + content.count
        }
        let tokenizer = loaded.tokenizer
        let body = tokenizer.encode(text, parseSpecial: true, addBOS: false)
        // BOS once: not when the rendered template already begins with it.
        let bos = tokenizer.promptNeedsBOS(body) ? tokenizer.bosID : nil
        let tokens = (bos.map { [$0] } ?? []) + body
        // Byte offset where each token starts (BOS adds none).
        var starts: [Int] = [], ends: [Int] = []
        var offset = 0
        for (i, id) in tokens.enumerated() {
            let length = (i == 0 && bos != nil) ? 0 : tokenizer.piece(id).count
            starts.append(offset)
            offset += length
            ends.append(offset)
        }
        guard offset == bytes.count else { throw Failure.tokensDoNotCoverText }
        var ranges: [Range<Int>] = []
        for span in spans {
            let members = tokens.indices.filter { starts[$0] < span.upperBound && ends[$0] > span.lowerBound }
            if let lo = members.first, let hi = members.last { ranges.append(lo..<(hi + 1)) }
        }
        return RenderedConversation(text: text, tokens: tokens, assistantRanges: ranges)
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard needle.count <= haystack.count else { return nil }
        var i = start
        while i + needle.count <= haystack.count {
            if haystack[i] == needle[0] && Array(haystack[i..<(i + needle.count)]) == needle { return i }
            i += 1
        }
        return nil
    }

    /// Ranks the SAE's features by the fraction of assistant tokens they fire on across
    /// `conversations`, and returns the top `top`. Position 0 of each conversation (the attention
    /// sink) is never counted. Labels come from the feature index beside the SAE when there is one.
    public static func rank(conversations: [[ChatMessage]], sae: SparseAutoencoder, model loaded: LoadedModel, top: Int,
                            labels: [Int: String]? = nil) throws -> AssistantFeatureReport {
        guard let point = sae.hookPoint else { throw FeatureIndex.Failure.noHookPoint(sae.hookName) }
        let model = loaded.model
        guard point.layer < model.layerCount else { throw ActivationCapture.Failure.layerOutOfRange(point.layer, layers: model.layerCount) }
        let dSAE = sae.dSAE
        var assistantActive = [Int](repeating: 0, count: dSAE), otherActive = [Int](repeating: 0, count: dSAE)
        var assistantSum = [Double](repeating: 0, count: dSAE)
        var assistantTokens = 0, otherTokens = 0
        for messages in conversations {
            let rendered = try render(messages, model: loaded)
            guard rendered.tokens.count <= model.trainedContextLength else {
                throw Failure.tooLong(tokens: rendered.tokens.count, limit: model.trainedContextLength)
            }
            var rows: [[Float]] = []
            let hooks = ActivationHooks()
            hooks.add(point) { a in for t in 0..<a.rows { rows.append(Array(a.row(t))) } }
            _ = try model.forward(rendered.tokens, cache: model.makeCache(capacity: rendered.tokens.count), hooks: hooks)
            for t in 1..<rows.count {
                let f = sae.encode(rows[t])
                if rendered.isAssistant(t) {
                    assistantTokens += 1
                    for j in 0..<dSAE where f[j] > 0 { assistantActive[j] += 1; assistantSum[j] += Double(f[j]) }
                } else {
                    otherTokens += 1
                    for j in 0..<dSAE where f[j] > 0 { otherActive[j] += 1 }
                }
            }
        }
        guard assistantTokens > 0 else { throw Failure.noAssistantTurn }
        let features = (0..<dSAE).map { j in
            AssistantFeature(index: j, assistantFraction: Double(assistantActive[j]) / Double(assistantTokens),
                             meanActivation: assistantSum[j] / Double(assistantTokens),
                             otherFraction: otherTokens > 0 ? Double(otherActive[j]) / Double(otherTokens) : 0, label: labels?[j])
        }
        .filter { $0.assistantFraction > 0 }
        .sorted { a, b in
            if a.assistantFraction != b.assistantFraction { return a.assistantFraction > b.assistantFraction }
            if a.meanActivation != b.meanActivation { return a.meanActivation > b.meanActivation }
            return a.index < b.index
        }
        return AssistantFeatureReport(hook: point.name, conversations: conversations.count, assistantTokens: assistantTokens,
                                      otherTokens: otherTokens, features: Array(features.prefix(max(0, top))))
    }

    /// Conversations from JSON: a list of conversations, each a list of `{"role", "content"}`
    /// objects, or a list of objects with a "messages" list.
    public static func conversations(json data: Data) throws -> [[ChatMessage]] {
        guard let list = (try? JSONSerialization.jsonObject(with: data)) as? [Any] else {
            throw Failure.badFile("expected a JSON list of conversations")
        }
        return try list.enumerated().map { (i, item) in
            let messages = (item as? [Any]) ?? ((item as? [String: Any])?["messages"] as? [Any])
            guard let messages else { throw Failure.badFile("conversation \(i): not a list of messages (or an object with \"messages\")") }
            return try messages.enumerated().map { (m, message) in
                guard let object = message as? [String: Any], let role = object["role"] as? String, let content = object["content"] as? String else {
                    throw Failure.badFile("conversation \(i), message \(m): needs string \"role\" and \"content\"")
                }
                return ChatMessage(role: role, content: content)
            }
        }
    }
}

extension FeatureIndex {
    /// Labels for display: the feature index's beside the SAE (when there is one; a malformed or
    /// foreign index is an error), overridden by hand-written `labels.json`.
    public static func labels(for sae: SparseAutoencoder) throws -> [Int: String]? {
        var labels: [Int: String] = [:]
        if FileManager.default.fileExists(atPath: FeatureIndex.url(in: sae.directory).path) {
            for f in try FeatureIndex.load(besides: sae).features { labels[f.index] = f.label }
        }
        if let own = try FeatureActivations.loadLabels(directory: sae.directory) { labels.merge(own) { $1 } }
        return labels.isEmpty ? nil : labels
    }
}
