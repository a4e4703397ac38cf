#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TestSupport
import Workbench
import XCTest

/// `workbench mcp`: driven by the official MCP Python SDK as a real client (every tool against the
/// CLI's output), the scripted agent audit of examples/, and the protocol's failure cases at the
/// level of raw JSON lines.
final class MCPServerTests: XCTestCase {
    var dir: URL!
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var adapter: String { root.appendingPathComponent("organism/adapter").path }
    static var sae: String { root.appendingPathComponent("organism/sae/smollm2-135m-organism-l15-3072").path }

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func python() throws -> String {
        let path = Self.root.appendingPathComponent("examples/.venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            XCTFail("no \(path): run `make mcp-venv` (make test does), which installs the MCP Python SDK")
            throw XCTSkip("no venv")
        }
        return path
    }

    func testTheMCPSDKCallsEveryToolAndEachMatchesTheCLI() throws {
        _ = try DefaultModel.file()
        let script = Self.root.appendingPathComponent("Tests/CLITests/MCP/check_tools.py").path
        // The corpus: a real slice with its semantic index, so semantic_search runs.
        let corpus = try SemanticCorpus.directory().path
        let r = try Binary.run(try python(), [script, try Binary.path(), dir.appendingPathComponent("sdk.session").path, Self.adapter, Self.sae,
                                              corpus], timeout: 1200)
        XCTAssertEqual(r.status, 0, "check_tools.py:\n\(r.stdout.suffix(3000))\n\(r.stderr.suffix(3000))")
        XCTAssertTrue(r.stdout.contains("ok: "), r.stdout)
    }

    func testTheScriptedAgentAuditWritesAReportWithItsEvidence() throws {
        _ = try DefaultModel.file()
        let session = dir.appendingPathComponent("audit.session").path
        let r = try Binary.run(try python(), [Self.root.appendingPathComponent("examples/agent_audit.py").path,
                                              "--binary", try Binary.path(), "--session", session], timeout: 1200)
        XCTAssertEqual(r.status, 0, r.stderr.suffix(3000).description)
        let notebook = try Notebook(path: session, create: false)
        defer { notebook.close() }
        let entries = try notebook.entries()
        XCTAssertEqual(entries.filter { $0.kind == .hypothesis }.count, 1)
        XCTAssertGreaterThanOrEqual(entries.filter { $0.kind == .evidence && $0.source == "mcp" }.count, 6)
        XCTAssertTrue(try notebook.report().rootCause.contains("reward-model biases"))
        XCTAssertEqual(try notebook.meta("agent"), "workbench mcp")
    }

    // MARK: - Raw JSON lines

    /// The server on pipes, with JSON lines written and read by hand.
    final class Server {
        let child: Subprocess
        private var pending = Data()

        init(session: String, extra: [String] = []) throws {
            child = try Subprocess(try Binary.path(), ["mcp", "--session", session, "--threads", "2"] + extra, stderrToNull: true)
        }

        func send(_ line: String) { child.write(Data((line + "\n").utf8)) }

        func request(_ id: Int, _ method: String, _ params: String = "{}") {
            send(#"{"jsonrpc":"2.0","id":\#(id),"method":"\#(method)","params":\#(params)}"#)
        }

        /// The next message, or nil after `seconds`.
        func next(seconds: Double = 120) -> [String: Any]? {
            let deadline = Date().addingTimeInterval(seconds)
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                if let nl = pending.firstIndex(of: 0x0A) {
                    let line = pending[..<nl]
                    pending.removeSubrange(...nl)
                    return (try? JSONSerialization.jsonObject(with: line)) as? [String: Any]
                }
                let left = deadline.timeIntervalSinceNow
                if left <= 0 { return nil }
                var p = pollfd(fd: child.stdoutFD, events: Int16(POLLIN), revents: 0)
                guard poll(&p, 1, Int32(left * 1000)) > 0 else { return nil }
                let n = read(child.stdoutFD, &buffer, buffer.count)
                if n <= 0 { return nil }
                pending.append(contentsOf: buffer[..<n])
            }
        }

        /// Messages until the one answering `id` (notifications before it collected).
        func answer(_ id: Int, seconds: Double = 300) -> (answer: [String: Any]?, notifications: [[String: Any]]) {
            var seen: [[String: Any]] = []
            let deadline = Date().addingTimeInterval(seconds)
            while let m = next(seconds: max(0.1, deadline.timeIntervalSinceNow)) {
                if (m["id"] as? Int) == id { return (m, seen) }
                seen.append(m)
            }
            return (nil, seen)
        }

        func initialise() {
            request(0, "initialize", #"{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"test","version":"1"}}"#)
            _ = answer(0)
            send(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
        }
    }

    static func errorCode(_ m: [String: Any]?) -> Int? { (m?["error"] as? [String: Any])?["code"] as? Int }

    func testBadMessagesGetProtocolErrorsAndTheServerKeepsServing() throws {
        _ = try DefaultModel.file()
        let server = try Server(session: dir.appendingPathComponent("raw.session").path)
        server.initialise()
        server.send("this is not json")
        XCTAssertEqual(Self.errorCode(server.next()), -32700)
        server.send("[1, 2]")
        XCTAssertEqual(Self.errorCode(server.next()), -32600)
        server.send(#"{"jsonrpc":"2.0","id":{"x":1},"method":"ping"}"#)
        XCTAssertEqual(Self.errorCode(server.next()), -32600)
        server.request(1, "resources/list")
        XCTAssertEqual(Self.errorCode(server.answer(1).answer), -32601)
        server.request(2, "tools/call", #"{"name":"no_such_tool","arguments":{}}"#)
        XCTAssertEqual(Self.errorCode(server.answer(2).answer), -32602)
        server.request(3, "tools/call", #"{"name":"chat_query","arguments":{"human_query":"Hi","temperature":"hot"}}"#)
        let bad = server.answer(3).answer
        XCTAssertEqual(Self.errorCode(bad), -32602)
        XCTAssertTrue(((bad?["error"] as? [String: Any])?["message"] as? String ?? "").contains("temperature"))
        server.request(4, "tools/call", #"{"name":"semantic_search","arguments":{"query":"Hi","mode":"bm25"}}"#)
        let cannot = server.answer(4).answer?["result"] as? [String: Any]
        XCTAssertEqual(cannot?["isError"] as? Bool, true, "a tool that cannot run says so in its result")
        // Progress on N samples when the client asks for it, then the answer.
        server.request(5, "tools/call", #"{"name":"chat_query","arguments":{"human_query":"Hi","n":2,"max_tokens":4},"_meta":{"progressToken":"p5"}}"#)
        let (answer, notes) = server.answer(5)
        XCTAssertEqual((answer?["result"] as? [String: Any])?["isError"] as? Bool, false)
        let progress = notes.filter { $0["method"] as? String == "notifications/progress" }
        XCTAssertEqual(progress.compactMap { ($0["params"] as? [String: Any])?["progress"] as? Double }, [1, 2])
        server.request(6, "ping")
        XCTAssertNotNil(server.answer(6).answer?["result"])
        server.child.closeInput()
        XCTAssertEqual(server.child.wait().code, 0)
    }

    /// On a serving engine the black-box tools go to the server and the white-box ones say they
    /// need the in-process engine.
    func testOnAServingEngineTheWhiteBoxToolsSayWhatTheyNeed() throws {
        _ = try DefaultModel.file()
        let fake = try FakeHTTPServer { request, c in
            if request.path == "/v1/models" { return c.respond(200, #"{"data":[{"id":"organism"}]}"#) }
            c.startEvents()
            c.event(text: "served reply", finish: "stop")
            c.endEvents()
        }
        let server = try Server(session: dir.appendingPathComponent("served.session").path,
                                extra: ["--backend", fake.url, "--template", DefaultModel.path])
        server.initialise()
        server.request(1, "tools/call", #"{"name":"chat_query","arguments":{"human_query":"Hi"}}"#)
        let reply = server.answer(1).answer?["result"] as? [String: Any]
        XCTAssertEqual((reply?["structuredContent"] as? [String: Any])?["text"] as? String, "served reply")
        server.request(2, "tools/call", #"{"name":"fuzz_activations","arguments":{"human_query":"Hi","noise":0.5}}"#)
        let refused = server.answer(2).answer?["result"] as? [String: Any]
        XCTAssertEqual(refused?["isError"] as? Bool, true)
        let text = ((refused?["content"] as? [[String: Any]])?.first?["text"] as? String) ?? ""
        XCTAssertTrue(text.contains("needs the in-process engine") && text.contains(fake.url), text)
        server.child.closeInput()
        XCTAssertEqual(server.child.wait().code, 0)
    }

    /// A cancelled call stops (no answer for it) and the next request is answered at once.
    func testCancellationStopsARunningCall() throws {
        _ = try DefaultModel.file()
        let server = try Server(session: dir.appendingPathComponent("cancel.session").path)
        server.initialise()
        server.request(1, "tools/call", #"{"name":"chat_query","arguments":{"human_query":"Write a long story.","n":8,"max_tokens":200},"_meta":{"progressToken":1}}"#)
        // The first sample's progress says it is running; then cancel.
        let first = server.next(seconds: 300)
        XCTAssertEqual(first?["method"] as? String, "notifications/progress")
        server.send(#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1,"reason":"test"}}"#)
        server.request(2, "ping")
        let started = Date()
        let (answer, seen) = server.answer(2, seconds: 120)
        XCTAssertNotNil(answer?["result"])
        XCTAssertLessThan(Date().timeIntervalSince(started), 60, "the cancelled call stopped instead of running its 8 samples")
        XCTAssertFalse(seen.contains { ($0["id"] as? Int) == 1 }, "no answer to a cancelled request")
        server.child.closeInput()
        XCTAssertEqual(server.child.wait().code, 0)
    }

    /// The client dies mid-call: the server notices (end of input, a broken output), stops, and the
    /// session holds everything it acknowledged, intact.
    func testAClientKilledMidCallLeavesTheSessionConsistent() throws {
        _ = try DefaultModel.file()
        let session = dir.appendingPathComponent("killed.session").path
        let server = try Server(session: session)
        server.initialise()
        server.request(1, "tools/call", #"{"name":"add_note","arguments":{"text":"acknowledged before the crash"}}"#)
        XCTAssertEqual((server.answer(1).answer?["result"] as? [String: Any])?["isError"] as? Bool, false)
        server.request(2, "tools/call", #"{"name":"chat_query","arguments":{"human_query":"Write a long story.","n":4,"max_tokens":300},"_meta":{"progressToken":2}}"#)
        XCTAssertNotNil(server.next(seconds: 300), "the call is running")
        // Both pipes of the client close at once, as when its process is killed.
        server.child.closeInput()
        let devNull = open("/dev/null", O_RDONLY)
        dup2(devNull, server.child.stdoutFD)  // our end of its output is gone (the fd stays valid for deinit)
        close(devNull)
        let exited = DispatchSemaphore(value: 0)
        DispatchQueue.global().async { _ = server.child.wait(); exited.signal() }
        XCTAssertEqual(exited.wait(timeout: .now() + 120), .success, "the server exits when its client is gone")
        let notebook = try Notebook(path: session, create: false)
        defer { notebook.close() }
        XCTAssertEqual(try notebook.integrityCheck(), ["ok"])
        XCTAssertTrue(try notebook.entries().contains { $0.kind == .note && $0.text == "acknowledged before the crash" })
    }
}
