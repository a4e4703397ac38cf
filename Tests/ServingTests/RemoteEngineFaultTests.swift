import Foundation
import Model
import Serving
import Techniques
import TestSupport
import Workbench
import XCTest

/// The remote engine against a scripted server: the request it sends, streaming, and each fault
/// (500, 429 then success, a timeout, malformed or truncated events, a server gone mid-stream, a
/// refused connection) giving a clear error or a retry as documented.
final class RemoteEngineFaultTests: XCTestCase {
    static let format = PromptFormat(template: nil, builtIn: .chatML, bosText: "", eosText: "", origin: "test")

    /// Answers GET /v1/models with one model; hands completions to `completions`.
    func server(models: [String] = ["served-organism"],
                _ completions: @escaping @Sendable (FakeHTTPServer.Request, FakeHTTPServer.Connection) -> Void) throws -> FakeHTTPServer {
        try FakeHTTPServer { request, c in
            if request.method == "GET" && request.path == "/v1/models" {
                let list = models.map { "{\"id\":\"\($0)\",\"object\":\"model\"}" }.joined(separator: ",")
                c.respond(200, "{\"object\":\"list\",\"data\":[\(list)]}")
            } else {
                completions(request, c)
            }
        }
    }

    func engine(_ server: FakeHTTPServer, served: String? = nil, retries: Int = 2, timeout: Double = 5,
                apiKey: String? = nil) throws -> RemoteEngine {
        var options = RemoteOptions()
        options.retries = retries
        options.backoff = 0.01
        options.timeouts = HTTPTimeouts(connect: 2, response: timeout)
        return try RemoteEngine(url: server.url, servedModel: served, apiKey: apiKey, format: Self.format, tokenizer: nil, options: options)
    }

    func completions(_ s: FakeHTTPServer) -> [FakeHTTPServer.Request] { s.requests.filter { $0.path == "/v1/completions" } }

    func error(_ body: () throws -> Void) -> String {
        do {
            try body()
            XCTFail("no error")
            return ""
        } catch {
            return "\(error)"
        }
    }

    func testAStreamedCompletionArrivesPieceByPieceWithTheRequestedSettings() throws {
        let s = try server { _, c in
            c.startEvents()
            c.event(text: "Hello")
            c.event(text: ", world")
            c.event(text: "", finish: "length")
            c.endEvents()
        }
        let e = try engine(s, apiKey: "sekret")
        XCTAssertEqual(e.servedModel, "served-organism", "the first listed model is the default")
        var pieces: [String] = []
        let params = SamplingParameters(temperature: 0.7, topK: 20, topP: 0.9, minP: 0.1, repetitionPenalty: 1.1, seed: 42)
        let c = try e.complete("<|im_start|>user\nHi", parameters: params, maxTokens: 12) { pieces.append($0); return true }
        XCTAssertEqual(pieces, ["Hello", ", world"])
        XCTAssertEqual(c.text, "Hello, world")
        XCTAssertEqual(c.stopReason, .maxTokens)
        XCTAssertEqual(c.tokens, 2)
        let request = try XCTUnwrap(completions(s).first)
        let body = try XCTUnwrap(request.json)
        XCTAssertEqual(body["prompt"] as? String, "<|im_start|>user\nHi")
        XCTAssertEqual(body["model"] as? String, "served-organism")
        XCTAssertEqual(body["max_tokens"] as? Int, 12)
        XCTAssertEqual(body["stream"] as? Bool, true)
        XCTAssertEqual(body["seed"] as? Int, 42)
        XCTAssertEqual(body["top_k"] as? Int, 20)
        XCTAssertEqual(try XCTUnwrap(body["temperature"] as? Double), 0.7, accuracy: 1e-6)
        XCTAssertEqual(try XCTUnwrap(body["top_p"] as? Double), 0.9, accuracy: 1e-6)
        XCTAssertEqual(try XCTUnwrap(body["min_p"] as? Double), 0.1, accuracy: 1e-6)
        XCTAssertEqual(try XCTUnwrap(body["repeat_penalty"] as? Double), 1.1, accuracy: 1e-6)
        XCTAssertEqual(try XCTUnwrap(body["repetition_penalty"] as? Double), 1.1, accuracy: 1e-6)
        XCTAssertEqual(request.headers["authorization"], "Bearer sekret")
        XCTAssertEqual(e.identity, EngineIdentity(kind: .remote, model: "served-organism", url: s.url))
    }

    func testAnUnknownServedModelIsRefusedWithTheServersList() throws {
        let s = try server(models: ["base", "organism"]) { _, c in c.respond(500, "") }
        let message = error { _ = try engine(s, served: "orgnism") }
        XCTAssertTrue(message.contains("does not serve 'orgnism'") && message.contains("base, organism"), message)
    }

    func testA500IsRetriedThenReportedWithTheServerStatusAndAnExcerptOfTheBody() throws {
        let s = try server { _, c in c.respond(500, "{\"error\":{\"message\":\"CUDA out of memory " + String(repeating: "x", count: 20000) + "\"}}") }
        let e = try engine(s, retries: 2)
        let message = error { _ = try e.complete("Hi", parameters: .greedy, maxTokens: 4) }
        XCTAssertEqual(completions(s).count, 3, "one try and two retries")
        XCTAssertTrue(message.contains("server \(s.url)") && message.contains("served-organism"), message)
        XCTAssertTrue(message.contains("HTTP 500: CUDA out of memory"), message)
        XCTAssertTrue(message.contains("bytes cut]"), "the body is quoted as an excerpt")
        XCTAssertTrue(message.contains("after 2 retries"), message)
        XCTAssertLessThan(message.count, 1000)
    }

    func testA429ThenSuccessIsRetriedAndSucceeds() throws {
        let calls = CallCounter()
        let s = try server { _, c in
            if calls.next() == 0 {
                c.respond(429, "{\"error\":\"slow down\"}", headers: ["Retry-After": "0"])
            } else {
                c.startEvents()
                c.event(text: "ok", finish: "stop")
                c.endEvents()
            }
        }
        let c = try engine(s).complete("Hi", parameters: .greedy, maxTokens: 4)
        XCTAssertEqual(c.text, "ok")
        XCTAssertEqual(c.stopReason, .endOfGeneration)
        XCTAssertEqual(completions(s).count, 2)
    }

    func testAServerThatNeverAnswersTimesOutWithAClearError() throws {
        let s = try server { _, c in _ = c.waitForClientClose(seconds: 10) }
        let e = try engine(s, timeout: 0.3)
        let started = Date()
        let message = error { _ = try e.complete("Hi", parameters: .greedy, maxTokens: 4) }
        XCTAssertTrue(message.contains("no answer within 0.3 s"), message)
        XCTAssertEqual(completions(s).count, 1, "a timeout is not retried: the server may still be working")
        XCTAssertLessThan(Date().timeIntervalSince(started), 8)
    }

    func testAMalformedEventIsAnError() throws {
        let s = try server { _, c in
            c.startEvents()
            c.event(text: "Hel")
            c.chunk("data: {\"choices\": [oops\n\n")
            c.endEvents()
        }
        let message = error { _ = try engine(s).complete("Hi", parameters: .greedy, maxTokens: 4) }
        XCTAssertTrue(message.contains("malformed event") && message.contains("after 1 token"), message)
        XCTAssertEqual(completions(s).count, 1)
    }

    func testAStreamThatEndsWithoutAFinishIsAnErrorNotATruncatedReply() throws {
        let s = try server { _, c in
            c.startEvents()
            c.event(text: "one")
            c.event(text: " two")
            c.write("0\r\n\r\n")  // the body ends: no finish reason, no [DONE]
        }
        let message = error { _ = try engine(s).complete("Hi", parameters: .greedy, maxTokens: 4) }
        XCTAssertTrue(message.contains("ended before the reply finished") && message.contains("after 2 tokens"), message)
    }

    func testAServerKilledMidStreamIsReportedAndNotRetried() throws {
        let s = try server { _, c in
            c.startEvents()
            c.event(text: "The secret")
            c.event(text: " is")
            usleep(50_000)
            c.reset()
        }
        var shown = ""
        let message = error { _ = try engine(s).complete("Hi", parameters: .greedy, maxTokens: 8) { shown += $0; return true } }
        XCTAssertEqual(shown, "The secret is")
        XCTAssertTrue(message.contains("after 2 tokens"), message)
        XCTAssertEqual(completions(s).count, 1, "text was shown: a retry would repeat it")
    }

    func testARefusedConnectionIsRetriedThenNamed() throws {
        let s = try server { _, c in c.respond(200, "") }
        let e = try engine(s, retries: 1)
        s.stop()
        let message = error { _ = try e.complete("Hi", parameters: .greedy, maxTokens: 4) }
        XCTAssertTrue(message.contains("cannot connect") && message.contains("after 1 retry"), message)
    }

    func testCancelClosesTheStreamAtOnce() throws {
        let closed = CallCounter()
        let s = try server { _, c in
            c.startEvents()
            c.event(text: "first")
            if c.waitForClientClose(seconds: 10) { _ = closed.next() }
        }
        let flag = CancellationFlag()
        var pieces: [String] = []
        let started = Date()
        let c = try engine(s).complete("Hi", parameters: .greedy, maxTokens: 100, cancel: flag) { piece in
            pieces.append(piece)
            DispatchQueue.global().asyncAfter(deadline: .now() + 0.1) { flag.cancel() }
            return true
        }
        XCTAssertEqual(pieces, ["first"])
        XCTAssertEqual(c.stopReason, .cancelled)
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
        let deadline = Date().addingTimeInterval(5)
        while closed.value == 0 && Date() < deadline { usleep(10_000) }
        XCTAssertEqual(closed.value, 1, "the server saw the connection close")
    }

    /// N samples are N requests in flight at once: the server answers none until four are open.
    func testSamplesRunConcurrently() throws {
        let arrived = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        let s = try server { request, c in
            arrived.signal()
            _ = release.wait(timeout: .now() + 10)
            c.startEvents()
            c.event(text: "seed \(request.json?["seed"] as? Int ?? -1)", finish: "stop")
            c.endEvents()
        }
        DispatchQueue.global().async {
            for _ in 0..<4 { _ = arrived.wait(timeout: .now() + 10) }
            for _ in 0..<4 { release.signal() }
        }
        let e = try engine(s)
        let set = try MultiSample.run(count: 4, settings: GenerationSettings(sampling: SamplingParameters(seed: 7), maxTokens: 4),
                                      pattern: "seed (8|9)", concurrency: e.concurrency, one: { settings in
            try ChatTurn.run(messages: [ChatMessage(role: "user", content: "Hi")], settings: settings, engine: e)
        })
        XCTAssertEqual(s.maxConcurrentConnections, 4)
        XCTAssertEqual(set.samples.map(\.text), ["seed 7", "seed 8", "seed 9", "seed 10"], "listed in seed order")
        XCTAssertEqual(set.matching, [1, 2])
    }

    /// The TUI's runner on a failing server: the job ends with the error, and the next job runs.
    func testTheRunnerReportsAFailureAndTakesTheNextJob() throws {
        let calls = CallCounter()
        let s = try server { _, c in
            if calls.next() == 0 {
                c.startEvents()
                c.event(text: "partial")
                c.reset()
            } else {
                c.startEvents()
                c.event(text: "fine", finish: "stop")
                c.endEvents()
            }
        }
        let runner = EngineRunner(engine: try engine(s))
        func run() -> (text: String, error: String?) {
            let done = DispatchSemaphore(value: 0)
            let box = Box()
            let job = GenerationJob(id: 1, origin: "chat", technique: .chat(messages: [ChatMessage(role: "user", content: "Hi")], system: nil, prefill: ""),
                                    settings: GenerationSettings(maxTokens: 8))
            runner.start(job) { event in
                switch event {
                case .text(_, _, let piece): box.append(piece)
                case .finished(_, let error): box.error = error; done.signal()
                default: break
                }
            }
            _ = done.wait(timeout: .now() + 20)
            return (box.text, box.error)
        }
        let first = run()
        XCTAssertEqual(first.text, "partial")
        XCTAssertTrue(first.error?.contains("after 1 token") ?? false, first.error ?? "no error")
        let second = run()
        XCTAssertEqual(second.text, "fine")
        XCTAssertNil(second.error)
    }

    func testURLsTheClientCannotUseAreRefusedPlainly() {
        XCTAssertTrue(error { _ = try HTTPEndpoint(url: "https://api.example.com/v1") }.contains("SSH tunnel"))
        XCTAssertTrue(error { _ = try HTTPEndpoint(url: "http://user:key@127.0.0.1:8000/v1") }.contains("--api-key-env"))
        XCTAssertTrue(error { _ = try HTTPEndpoint(url: "127.0.0.1:8000") }.contains("expected http://"))
        XCTAssertEqual(try HTTPEndpoint(url: "http://127.0.0.1:8000/v1/").basePath, "/v1")
    }

    func testServerSentEventsSplitAnywhereParseTheSame() throws {
        let stream = ": comment\r\ndata: {\"a\":1}\r\n\r\nevent: x\ndata: line1\ndata: line2\n\ndata: [DONE]\n\n"
        let bytes = Array(stream.utf8)
        for cut in 0...bytes.count {
            var parser = ServerSentEvents()
            let events = try parser.feed(Array(bytes[..<cut])) + parser.feed(Array(bytes[cut...]))
            XCTAssertEqual(events, ["{\"a\":1}", "line1\nline2", "[DONE]"], "cut at \(cut)")
        }
    }
}

final class Box: @unchecked Sendable {
    private let lock = NSLock()
    private var _text = ""
    private var _error: String?
    func append(_ s: String) { lock.lock(); _text += s; lock.unlock() }
    var text: String { lock.lock(); defer { lock.unlock() }; return _text }
    var error: String? {
        get { lock.lock(); defer { lock.unlock() }; return _error }
        set { lock.lock(); _error = newValue; lock.unlock() }
    }
}
