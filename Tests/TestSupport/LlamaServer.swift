#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest

/// llama-cpp-python's OpenAI-compatible server (`python -m llama_cpp.server`, from the venv
/// bench/.venv that `make test-models` builds) serving a model on a free loopback port: the real
/// serving engine of the remote-engine tests. Stopped (SIGTERM, then SIGKILL) on `stop` or deinit.
public final class LlamaServer {
    public let port: Int
    public let log: URL
    private let child: Subprocess

    public var url: String { "http://127.0.0.1:\(port)/v1" }

    public static var python: String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent("bench/.venv/bin/python").path
    }

    /// Starts the server on `model` and waits (up to `seconds`) until GET /v1/models answers.
    public init(model: String, seconds: Double = 180) throws {
        let python = Self.python
        guard FileManager.default.isExecutableFile(atPath: python) else {
            XCTFail("no \(python): run `make test-models` (make test does), which builds llama-cpp-python and its server")
            throw XCTSkip("no venv")
        }
        let check = try Binary.run(python, ["-c", "import llama_cpp.server.app, uvicorn, sse_starlette"], timeout: 120)
        guard check.status == 0 else {
            XCTFail("llama-cpp-python's server does not import (run `make test-models`): \(check.stderr.suffix(400))")
            throw XCTSkip("no server")
        }
        port = try Self.freePort()
        log = FileManager.default.temporaryDirectory.appendingPathComponent("llama-server-\(port).log")
        // One thread: the in-process engine under test shares the machine's two cores.
        let command = "exec '\(python)' -m llama_cpp.server --model '\(model)' --host 127.0.0.1 --port \(port) "
            + "--n_ctx 2048 --n_threads 1 --interrupt_requests False > '\(log.path)' 2>&1"
        child = try Subprocess("/bin/sh", ["-c", command])
        child.closeInput()
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if Self.answers(port: port) { return }
            var status: Int32 = 0
            if waitpid(child.pid, &status, WNOHANG) == child.pid {
                let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                XCTFail("llama-cpp-python's server exited while starting:\n\(text.suffix(2000))")
                throw XCTSkip("server died")
            }
            usleep(200_000)
        }
        child.kill(SIGKILL)
        XCTFail("llama-cpp-python's server did not answer within \(Int(seconds)) s; log: \(log.path)")
        throw XCTSkip("server timeout")
    }

    deinit { stop() }

    public func stop() {
        child.kill(SIGTERM)
        let deadline = Date().addingTimeInterval(5)
        var status: Int32 = 0
        while Date() < deadline {
            if waitpid(child.pid, &status, WNOHANG) != 0 { return }
            usleep(50_000)
        }
        child.kill(SIGKILL)
    }

    /// Kills the server at once (SIGKILL), as a crash would.
    public func kill() { child.kill(SIGKILL) }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard ok == 0 else { throw POSIXError(.EADDRINUSE) }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Whether GET /v1/models answers 200 on `port`.
    static func answers(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard ok == 0 else { return false }
        let request = "GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = recv(fd, &buffer, buffer.count, 0)
        return n > 12 && String(decoding: buffer[..<n], as: UTF8.self).hasPrefix("HTTP/1.1 200")
    }
}
