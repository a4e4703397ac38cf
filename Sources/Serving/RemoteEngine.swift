import Foundation
import Model

/// How a remote engine talks to its server.
public struct RemoteOptions: Sendable, Equatable {
    public var timeouts = HTTPTimeouts()
    /// Retries after a connection error, 408, 429 or 5xx, before any text of the reply arrived.
    public var retries = 3
    /// The first retry waits this long; each next one twice as long (a 429's Retry-After, up to
    /// `maxRetryAfter`, wins).
    public var backoff: Double = 0.5
    public var maxRetryAfter: Double = 30
    /// Requests in flight at once for N samples.
    public var concurrency = 8

    public init() {}
}

/// A failure of the remote engine: names the server and model, and quotes at most an excerpt of
/// what the server said.
public struct RemoteEngineError: Error, CustomStringConvertible {
    public let description: String
    public let http: HTTPError?
    init(_ description: String, http: HTTPError? = nil) {
        self.description = description
        self.http = http
    }
}

/// The text engine of a model on an OpenAI-compatible server (vLLM, llama.cpp's server,
/// llama-cpp-python's, SGLang). Chats are rendered here, by the served model's own template (from
/// its GGUF or `tokenizer_config.json`), and sent to `POST /completions` as plain completions, so
/// prefill and persona swaps work as in-process. With a GGUF template file the record also holds
/// the prompt's token ids as this workbench's tokenizer gives them.
public final class RemoteEngine: TextEngine, @unchecked Sendable {
    public let endpoint: HTTPEndpoint
    public let servedModel: String
    public let format: PromptFormat
    public let tokenizer: Tokenizer?
    public let options: RemoteOptions
    public let contextLimit: Int
    private let apiKey: String?

    public var identity: EngineIdentity { EngineIdentity(kind: .remote, model: servedModel, url: endpoint.display) }
    public var concurrency: Int { max(1, options.concurrency) }
    public func fork() -> any TextEngine { self }
    /// The base model on the same server (`--base-served-model`), for comparisons; nil without one.
    public var base: RemoteEngine?
    public func baseEngine() -> (any TextEngine)? { base }

    /// Who this is, for messages: "server http://127.0.0.1:8000/v1 (model NAME)".
    public var serverLabel: String { "server \(endpoint.display) (model \(UntrustedText.excerpt(servedModel, limit: 80)))" }

    /// Connects to the server at `url` (its base, such as http://127.0.0.1:8000/v1) and checks the
    /// served model against `GET /models`; with `servedModel` nil, the first model listed is used.
    public init(url: String, servedModel: String?, apiKey: String?, format: PromptFormat, tokenizer: Tokenizer?,
                options: RemoteOptions = RemoteOptions()) throws {
        endpoint = try HTTPEndpoint(url: url)
        self.format = format
        self.tokenizer = tokenizer
        self.options = options
        self.apiKey = apiKey
        let listing = try RemoteEngine.models(endpoint, apiKey: apiKey, options: options)
        if let servedModel {
            if let listing, !listing.isEmpty, !listing.contains(where: { $0.id == servedModel }) {
                throw RemoteEngineError("server \(endpoint.display) does not serve '\(UntrustedText.excerpt(servedModel))' (it serves: "
                    + UntrustedText.excerpt(listing.map(\.id).joined(separator: ", ")) + ")")
            }
            self.servedModel = servedModel
        } else {
            guard let first = listing?.first else {
                throw RemoteEngineError("server \(endpoint.display) lists no models at GET \(endpoint.basePath)/models: name one with --served-model")
            }
            self.servedModel = first.id
        }
        let name = self.servedModel
        contextLimit = listing?.first(where: { $0.id == name })?.contextLength ?? 0
    }

    struct ListedModel { var id: String; var contextLength: Int? }

    /// `GET /models`; nil when the server has no such route (404).
    static func models(_ endpoint: HTTPEndpoint, apiKey: String?, options: RemoteOptions) throws -> [ListedModel]? {
        let body: [UInt8]
        do {
            body = try withRetries(options, cancel: nil) {
                let x = try HTTPExchange(endpoint, method: "GET", path: "/models", headers: authorization(apiKey), timeouts: options.timeouts)
                if x.status == 404 { return nil }
                try check(x)
                return try x.readBody()
            } ?? []
        } catch let e as HTTPError {
            throw RemoteEngineError("server \(endpoint.display): \(e.detail)", http: e)
        }
        if body.isEmpty { return nil }
        guard let json = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
              let data = json["data"] as? [[String: Any]] else {
            throw RemoteEngineError("server \(endpoint.display): GET \(endpoint.basePath)/models is not a model list: "
                + UntrustedText.excerpt(String(decoding: body, as: UTF8.self)))
        }
        return data.compactMap { m in
            (m["id"] as? String).map { ListedModel(id: $0, contextLength: (m["max_model_len"] as? Int) ?? ((m["meta"] as? [String: Any])?["n_ctx_train"] as? Int)) }
        }
    }

    static func authorization(_ apiKey: String?) -> [(String, String)] {
        apiKey.map { [("Authorization", "Bearer \($0)")] } ?? []
    }

    /// Throws for a status other than 200, quoting the server's error message (or the body).
    static func check(_ x: HTTPExchange) throws {
        guard x.status != 200 else { return }
        let body = (try? x.readBody(limit: 1 << 20)) ?? []
        var message = String(decoding: body, as: UTF8.self)
        if let json = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] {
            if let e = json["error"] as? [String: Any], let m = e["message"] as? String { message = m }
            else if let m = json["error"] as? String { message = m }
            else if let m = json["detail"] { message = String(describing: m) }
        }
        message = message.trimmingCharacters(in: .whitespacesAndNewlines)
        var detail = "HTTP \(x.status)"
        if !message.isEmpty { detail += ": " + UntrustedText.excerpt(message, limit: 300) }
        throw HTTPError(.status(x.status), detail)
    }

    /// Runs `attempt` until it succeeds, fails for good, or the retries are spent; waits between
    /// attempts (interrupted by `cancel`).
    static func withRetries<T>(_ options: RemoteOptions, cancel: CancellationFlag?,
                               retryAfter: (HTTPError) -> Double? = { _ in nil },
                               _ attempt: () throws -> T) throws -> T {
        var tried = 0
        while true {
            do {
                return try attempt()
            } catch let e as HTTPError where e.isRetryable && tried < options.retries {
                let wait = retryAfter(e).map { min($0, options.maxRetryAfter) } ?? options.backoff * Double(1 << tried)
                tried += 1
                if sleep(wait, cancel: cancel) { throw HTTPError(.cancelled, "cancelled") }
            } catch let e as HTTPError where e.isRetryable && options.retries > 0 {
                throw HTTPError(e.kind, "\(e.detail) (after \(tried) \(tried == 1 ? "retry" : "retries"))")
            }
        }
    }

    /// Sleeps `seconds`; true when `cancel` was set meanwhile.
    static func sleep(_ seconds: Double, cancel: CancellationFlag?) -> Bool {
        let wake = DispatchSemaphore(value: 0)
        let key = cancel?.onCancel { wake.signal() }
        _ = wake.wait(timeout: .now() + max(0, seconds))
        if let key, key >= 0 { cancel?.remove(key) }
        return cancel?.isCancelled ?? false
    }

    // MARK: - Completions

    /// The JSON body of `POST /completions`. Both llama.cpp's and vLLM's names of the repetition
    /// penalty are sent (each server ignores the other's).
    func requestBody(prompt: String, parameters p: SamplingParameters, maxTokens: Int) -> (Data, [TokenID]) {
        var body: [String: Any] = [
            "model": servedModel, "max_tokens": maxTokens, "stream": true,
            "temperature": Double(p.temperature), "top_p": Double(p.topP), "top_k": p.topK, "min_p": Double(p.minP),
            "repeat_penalty": Double(p.repetitionPenalty), "repetition_penalty": Double(p.repetitionPenalty),
            "repeat_last_n": p.repetitionWindow,
            // llama.cpp takes a 32-bit seed, and 0xFFFFFFFF there means "random".
            "seed": Int(p.seed % 2_147_483_647),
        ]
        // Servers tokenise the text with special tokens parsed and put BOS in front when the model
        // asks for it (llama.cpp: add_bos_token; vLLM: add_special_tokens): a BOS the template already
        // wrote is left out, so the model sees one, as in-process.
        let serverAddsBOS = tokenizer?.addBOS ?? !format.bosText.isEmpty
        var text = prompt
        if serverAddsBOS && !format.bosText.isEmpty && text.hasPrefix(format.bosText) { text.removeFirst(format.bosText.count) }
        if prompt.isEmpty && !serverAddsBOS { text = format.bosText.isEmpty ? format.eosText : format.bosText }
        body["prompt"] = text
        var ids: [TokenID] = []
        if let tokenizer {
            // The tokenizer's word cache is not for several threads at once (N samples run in parallel).
            tokenizerLock.lock()
            ids = tokenizer.encodePrompt(prompt)
            tokenizerLock.unlock()
            if ids.isEmpty, let start = tokenizer.bosID ?? tokenizer.eosID { ids = [start] }
        }
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data()
        return (data, ids)
    }

    public func complete(_ prompt: String, parameters: SamplingParameters, maxTokens: Int,
                         cancel: CancellationFlag?, onText: (String) -> Bool) throws -> Completion {
        let (body, ids) = requestBody(prompt: prompt, parameters: parameters, maxTokens: maxTokens)
        var out = Completion()
        out.promptIDs = ids
        // max_tokens 0 means "to the end of the context" to llama.cpp's server; here it means none.
        guard maxTokens > 0 else { return out }
        let label = serverLabel
        var retryAfter: Double?  // this request's last Retry-After
        do {
            try RemoteEngine.withRetries(options, cancel: cancel, retryAfter: { _ in retryAfter }) {
                retryAfter = nil
                let x = try HTTPExchange(endpoint, method: "POST", path: "/completions",
                                         headers: RemoteEngine.authorization(apiKey) + [("Accept", "text/event-stream")],
                                         body: body, timeouts: options.timeouts, cancel: cancel)
                if x.status == 429 || x.status == 503, let after = x.header("Retry-After").flatMap(Double.init) { retryAfter = after }
                try RemoteEngine.check(x)
                let key = cancel?.onCancel { x.cancel() }
                defer { if let key, key >= 0 { cancel?.remove(key) } }
                do {
                    try stream(x, into: &out, cancel: cancel, onText: onText)
                } catch let e as HTTPError where out.tokens > 0 && e.isRetryable {
                    throw HTTPError(.broken, e.detail)  // text is already shown: no retry
                }
            }
        } catch let e as HTTPError {
            if e.kind == .cancelled || (cancel?.isCancelled ?? false) {
                out.stopReason = .cancelled
                return out
            }
            let after = out.tokens > 0 ? " after \(out.tokens) \(out.tokens == 1 ? "token" : "tokens")" : ""
            throw RemoteEngineError("\(label)\(after): \(e.detail)", http: e)
        }
        return out
    }

    private let tokenizerLock = NSLock()

    /// Reads the server-sent events of a streamed completion: `data: {json}` events whose
    /// choices[0].text is the next piece, until `data: [DONE]` (or a finish reason and the end).
    func stream(_ x: HTTPExchange, into out: inout Completion, cancel: CancellationFlag?, onText: (String) -> Bool) throws {
        var events = ServerSentEvents()
        var finish: String?
        var bytes = 0
        while true {
            guard let chunk = try x.nextBodyChunk() else { break }
            bytes += chunk.count
            for data in try events.feed(chunk) {
                if data == "[DONE]" {
                    out.stopReason = RemoteEngine.stopReason(finish)
                    return
                }
                guard let json = try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any] else {
                    throw HTTPError(.malformed, "a malformed event in the stream: " + UntrustedText.excerpt(data, limit: 120))
                }
                if let e = json["error"] {
                    let message = (e as? [String: Any])?["message"] as? String ?? String(describing: e)
                    throw HTTPError(.malformed, "the server reported an error in the stream: " + UntrustedText.excerpt(message, limit: 300))
                }
                guard let choices = json["choices"] as? [[String: Any]] else {
                    if json["usage"] != nil { continue }  // a usage-only event
                    throw HTTPError(.malformed, "an event without choices in the stream: " + UntrustedText.excerpt(data, limit: 120))
                }
                guard let choice = choices.first else { continue }
                if let piece = choice["text"] as? String, !piece.isEmpty {
                    out.text += piece
                    out.tokens += 1
                    if !onText(piece) || (cancel?.isCancelled ?? false) {
                        x.cancel()
                        out.stopReason = .cancelled
                        return
                    }
                }
                if let f = choice["finish_reason"] as? String { finish = f }
            }
        }
        // The stream ended without [DONE]: complete only if the server said why it finished.
        guard let finish else {
            throw HTTPError(.malformed, bytes == 0
                ? "the server closed the stream before sending anything"
                : "the stream ended before the reply finished (no finish reason, no [DONE])")
        }
        out.stopReason = RemoteEngine.stopReason(finish)
    }

    static func stopReason(_ finish: String?) -> StopReason {
        finish == "length" ? .maxTokens : .endOfGeneration
    }
}

/// The event-stream format: lines, `data:` fields joined by newlines, an event per blank line,
/// comments (`:`) ignored. One event over 4 MiB is refused.
public struct ServerSentEvents {
    private var pending: [UInt8] = []
    private var data: [String] = []

    public init() {}

    public mutating func feed(_ bytes: [UInt8]) throws -> [String] {
        pending += bytes
        var out: [String] = []
        var start = 0
        while let nl = pending[start...].firstIndex(of: 0x0A) {
            var end = nl
            if end > start && pending[end - 1] == 0x0D { end -= 1 }
            let line = String(decoding: pending[start..<end], as: UTF8.self)
            start = nl + 1
            if line.isEmpty {
                if !data.isEmpty { out.append(data.joined(separator: "\n")) }
                data.removeAll()
            } else if line.hasPrefix(":") {
                continue
            } else if line.hasPrefix("data:") {
                var value = line.dropFirst(5)
                if value.first == " " { value = value.dropFirst() }
                data.append(String(value))
            }
            // Other fields (event:, id:, retry:) carry nothing a completion needs.
        }
        pending.removeFirst(start)
        guard pending.count + data.reduce(0, { $0 + $1.utf8.count }) <= 4 << 20 else {
            throw HTTPError(.malformed, "an event over 4 MiB in the stream")
        }
        return out
    }
}
