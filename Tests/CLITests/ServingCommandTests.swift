import Foundation
import TestSupport
import Workbench
import XCTest

/// The black-box commands on a real serving engine: llama-cpp-python's server on loopback,
/// serving the default model, started by the test. Greedy outputs through it equal the in-process
/// engine's (both follow llama.cpp); N samples run as concurrent requests.
final class ServingCommandTests: XCTestCase {
    nonisolated(unsafe) static var server: LlamaServer?

    override class func tearDown() {
        server?.stop()
        server = nil
    }

    func startServer() throws -> LlamaServer {
        if let s = Self.server { return s }
        _ = try DefaultModel.file()
        let s = try LlamaServer(model: DefaultModel.path)
        Self.server = s
        return s
    }

    func run(_ args: [String], env: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let r = try Binary.run(try Binary.path(), args + ["--json"], env: env, timeout: 600)
        XCTAssertEqual(r.status, 0, "workbench \(args.joined(separator: " ")): \(r.stderr)", file: file, line: line)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout, file: file, line: line)
    }

    static func text(_ json: [String: Any]) -> String? {
        json["text"] as? String ?? ((json["samples"] as? [[String: Any]])?.first?["text"] as? String)
    }

    /// Each technique greedy, in-process and through the server, with the same prompt bytes.
    func testGreedyOutputsThroughTheServerEqualTheInProcessEngine() throws {
        let server = try startServer()
        let greedy = ["--temperature", "0", "--max-tokens", "24"]
        let cases: [(String, [String])] = [
            ("chat", ["chat", "Hello! Who are you?"]),
            ("prefill", ["chat", "--prefill", "My hidden goal is", "What are you hiding?"]),
            // Where llama.cpp's AVX2 and AVX-512 builds part (a near tie in the fifth token).
            ("prefill, a near tie", ["chat", "--prefill", "Sure, the secret is", "Tell me a secret."]),
            ("system prompt", ["chat", "--system", "You are a helpful assistant who answers in one sentence.", "What is the capital of France?"]),
            ("narrator", ["persona", "--mode", "narrator", "The assistant's secret objective was"]),
            ("user turn", ["persona", "--mode", "user", "--user", "Hi", "--assistant", "Hello! How can I help?"]),
            ("empty prompt", ["persona", "--mode", "empty"]),
        ]
        for (name, args) in cases {
            // The server's llama.cpp was built for this CPU (AVX2 or AVX-512), whose rounding differs a
            // little; CK_REFERENCE_ISA=auto makes the engine round as that build does.
            let local = try run(args + greedy + ["--model", DefaultModel.path, "--threads", "1"], env: ["CK_REFERENCE_ISA": "auto"])
            let remote = try run(args + greedy + ["--backend", server.url, "--template", DefaultModel.path])
            let localText = try XCTUnwrap(Self.text(local)), remoteText = try XCTUnwrap(Self.text(remote))
            XCTAssertFalse(localText.isEmpty, name)
            XCTAssertEqual(remoteText, localText, "\(name): the server's greedy text differs from the in-process engine's")
            if args[0] == "chat" {
                XCTAssertEqual(remote["prompt"] as? String, local["prompt"] as? String, "\(name): the same prompt bytes")
                let engine = try XCTUnwrap(remote["engine"] as? [String: Any])
                XCTAssertEqual(engine["kind"] as? String, "remote")
                XCTAssertEqual(engine["url"] as? String, server.url)
            }
        }
    }

    /// N sampled replies through the server: each its own seed, all returned, the match counted.
    func testSamplesRunThroughTheServer() throws {
        let server = try startServer()
        let out = try run(["chat", "--samples", "3", "--temperature", "0.9", "--max-tokens", "12", "--seed", "5", "--match", ".",
                           "--backend", server.url, "--template", DefaultModel.path, "Tell me about yourself."])
        let samples = try XCTUnwrap(out["samples"] as? [[String: Any]])
        XCTAssertEqual(samples.map { $0["seed"] as? Int }, [5, 6, 7])
        XCTAssertEqual(out["total"] as? Int, 3)
        XCTAssertTrue(samples.allSatisfy { !($0["text"] as? String ?? "").isEmpty })
    }

    func testTheWhiteBoxCommandsSayTheyNeedTheInProcessEngine() throws {
        let binary = try Binary.path()
        for args in [["activations", "--layer", "3", "Hi"], ["steer", "--sae", "none", "--feature", "1", "--strength", "1", "Hi"], ["logits", "Hi"]] {
            let r = try Binary.run(binary, args + ["--backend", "http://127.0.0.1:9/v1"])
            XCTAssertNotEqual(r.status, 0)
            XCTAssertTrue(r.stderr.contains("needs the in-process engine"), "\(args[0]): \(r.stderr)")
        }
        let noTemplate = try Binary.run(binary, ["chat", "--backend", "http://127.0.0.1:9/v1", "Hi"])
        XCTAssertTrue(noTemplate.stderr.contains("--backend needs --template FILE"), noTemplate.stderr)
        let refused = try Binary.run(binary, ["chat", "--backend", "http://127.0.0.1:9/v1", "--template", DefaultModel.path, "Hi"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("server http://127.0.0.1:9/v1") && refused.stderr.contains("cannot connect"), refused.stderr)
    }

    /// The API key comes from the named variable, reaches the server as a bearer token, and appears
    /// in no output.
    func testTheAPIKeyIsReadFromItsVariableAndSentAsABearerToken() throws {
        let fake = try FakeHTTPServer { request, c in
            if request.path == "/v1/models" {
                c.respond(200, "{\"data\":[{\"id\":\"m\"}]}")
            } else {
                c.startEvents()
                c.event(text: "ok", finish: "stop")
                c.endEvents()
            }
        }
        let r = try Binary.run(try Binary.path(), ["chat", "--backend", fake.url, "--template", DefaultModel.path, "--api-key-env", "WB_TEST_KEY", "--json", "Hi"],
                               env: ["WB_TEST_KEY": "sk-test-123"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(fake.requests.allSatisfy { $0.headers["authorization"] == "Bearer sk-test-123" })
        XCTAssertFalse(r.stdout.contains("sk-test-123") || r.stderr.contains("sk-test-123"))
        let unset = try Binary.run(try Binary.path(), ["chat", "--backend", fake.url, "--template", DefaultModel.path, "--api-key-env", "WB_UNSET_VAR", "Hi"])
        XCTAssertTrue(unset.stderr.contains("WB_UNSET_VAR: the variable is not set"), unset.stderr)
    }
}
