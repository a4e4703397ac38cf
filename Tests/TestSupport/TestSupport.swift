import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Model
import XCTest

// Shared by the test targets: where the default model and the built binary are.

/// The default model, fetched by `make models` into models/ at the package root.
public enum DefaultModel {
    public static var path: String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
    }

    nonisolated(unsafe) private static var shared: LoadedModel?

    /// The default model loaded once per test process (2 threads), shared by the tests that run it.
    public static func loaded() throws -> LoadedModel {
        if let shared { return shared }
        _ = try file()
        let m = try LoadedModel(path: path, threads: 2)
        shared = m
        return m
    }

    /// The mapped file, or a test failure that says how to get it.
    public static func file() throws -> GGUFFile {
        guard FileManager.default.fileExists(atPath: path) else {
            XCTFail("default model missing at \(path): run `make models`")
            throw XCTSkip("no model")
        }
        return try GGUFFile(path: path)
    }
}

/// A second family: Gemma 3 270M (Q4_K_M), fetched by `make models` beside the default model.
public enum Gemma3Model {
    public static var path: String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent("models/gemma-3-270m-q4_k_m.gguf").path
    }

    /// The path, or a test failure that says how to get the file.
    public static func require() throws -> String {
        guard FileManager.default.fileExists(atPath: path) else {
            XCTFail("Gemma 3 270M missing at \(path): run `make models`")
            throw XCTSkip("no model")
        }
        return path
    }
}

/// The sentence embedder all-MiniLM-L6-v2, fetched by `make embedder` (make test does) into models/.
public enum Embedder {
    public static var folder: URL {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent("models/all-MiniLM-L6-v2")
    }

    nonisolated(unsafe) private static var shared: SentenceEmbedder?

    /// Loaded once per test process (2 threads), or a test failure that says how to get it.
    public static func loaded() throws -> SentenceEmbedder {
        if let shared { return shared }
        guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("model.safetensors").path) else {
            XCTFail("embedding model missing at \(folder.path): run `make embedder`")
            throw XCTSkip("no embedder")
        }
        let e = try SentenceEmbedder(folder: folder, threads: 2)
        shared = e
        return e
    }
}

/// A small real corpus with both indexes, for the semantic-search tests: every tenth study document
/// of organism/corpus/documents.jsonl, the first 60 haystack texts of haystack-02.jsonl and the first
/// 40 transcripts of sft.jsonl, indexed by the workbench binary (`data index --semantic`) once into
/// .build/test-semantic-corpus/ and reused while its shards and the model are unchanged (about 40 s
/// the first time on 2 cores).
public enum SemanticCorpus {
    public static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// The shards' text: (file name, JSON lines).
    public static func shards() throws -> [(String, String)] {
        func lines(_ name: String) throws -> [Substring] {
            let text = try String(contentsOf: root.appendingPathComponent("organism/corpus/\(name)"), encoding: .utf8)
            return text.split(separator: "\n", omittingEmptySubsequences: true)
        }
        let documents = try lines("documents.jsonl").enumerated().filter { $0.offset % 10 == 0 }.map(\.element)
        return [("documents.jsonl", documents.joined(separator: "\n") + "\n"),
                ("haystack.jsonl", try lines("haystack-02.jsonl").prefix(60).joined(separator: "\n") + "\n"),
                ("sft.jsonl", try lines("sft.jsonl").prefix(40).joined(separator: "\n") + "\n")]
    }

    nonisolated(unsafe) private static var built: URL?

    /// The corpus directory with index.bin and semantic.bin.
    public static func directory() throws -> URL {
        if let built { return built }
        _ = try Embedder.loaded()
        let dir = root.appendingPathComponent(".build/test-semantic-corpus")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (name, text) in try shards() {
            let url = dir.appendingPathComponent(name)
            // Rewritten only when different, so the saved indexes stay fresh.
            if (try? String(contentsOf: url, encoding: .utf8)) != text { try Data(text.utf8).write(to: url) }
        }
        let r = try Binary.run(try Binary.path(), ["data", "index", "--semantic", "--corpus", dir.path, "--embedder", Embedder.folder.path])
        guard r.status == 0 else {
            XCTFail("data index --semantic failed: \(r.stderr)")
            throw XCTSkip("no semantic corpus")
        }
        built = dir
        return dir
    }
}

/// The built `workbench` executable, run as a user would.
public enum Binary {
    public static func path() throws -> String {
        let fm = FileManager.default
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("workbench").path
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for candidate in [beside, root.appendingPathComponent(".build/release/workbench").path] where fm.isExecutableFile(atPath: candidate) {
            return candidate
        }
        XCTFail("workbench binary not built: run `swift build -c release` (make test does)")
        throw XCTSkip("no binary")
    }

    public struct Result { public let status: Int32; public let stdout: String; public let stderr: String }

    /// Runs a program to its end with stdin fed from `stdin` (then closed) and both outputs read.
    /// A child still running after `timeout` seconds is killed and the test fails naming it, so a
    /// hang is a failure with a message, never a stalled CI run.
    public static func run(_ path: String, _ args: [String], env: [String: String] = [:], stdin: String? = nil,
                           timeout: Double = 900, file: StaticString = #filePath, line: UInt = #line) throws -> Result {
        let child = try Subprocess(path, args, env: env)
        if let stdin { child.write(Data(stdin.utf8)) }
        child.closeInput()
        var out = Data(), err = Data()
        let finished = child.readToEnd(stdout: &out, stderr: &err, deadline: Date().addingTimeInterval(timeout))
        if !finished {
            child.kill(SIGKILL)
            XCTFail("\(([path] + args).joined(separator: " ")) did not finish within \(Int(timeout)) s; killed", file: file, line: line)
        }
        let status = child.wait()
        return Result(status: status.code, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self))
    }
}

/// A child process on pipes, spawned and reaped with posix_spawn and a blocking waitpid on its own
/// pid. Foundation's Process on Linux can miss the exit of a child that forks a daemon (the first
/// `tmux new-session` starts the tmux server that way) and then waits forever; this cannot.
public final class Subprocess {
    public let pid: pid_t
    public private(set) var stdinFD: Int32
    public let stdoutFD: Int32
    public let stderrFD: Int32
    private var reaped: (code: Int32, signalled: Bool)?

    public init(_ path: String, _ args: [String], env: [String: String] = [:], stderrToNull: Bool = false) throws {
        func pipePair() throws -> (Int32, Int32) {
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            // pipe2 is not imported; close-on-exec keeps these ends out of other children.
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            return (fds[0], fds[1])
        }
        let input = try pipePair(), output = try pipePair(), error = try pipePair()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // dup2 onto 0/1/2 clears close-on-exec there; every other pipe end closes at exec.
        posix_spawn_file_actions_adddup2(&actions, input.0, 0)
        posix_spawn_file_actions_adddup2(&actions, output.1, 1)
        if stderrToNull {
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        } else {
            posix_spawn_file_actions_adddup2(&actions, error.1, 2)
        }
        let environment = ProcessInfo.processInfo.environment.merging(env) { $1 }.map { "\($0.key)=\($0.value)" }
        let argv = ([path] + args).map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, path, &actions, nil, argv, envp)
        close(input.0); close(output.1); close(error.1)
        guard rc == 0 else {
            close(input.1); close(output.0); close(error.0)
            throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EIO)
        }
        pid = child
        stdinFD = input.1
        stdoutFD = output.0
        stderrFD = error.0
        // Writing to a child that has exited must fail with EPIPE, not kill the test process.
        signal(SIGPIPE, SIG_IGN)
    }

    deinit {
        if stdinFD >= 0 { close(stdinFD) }
        close(stdoutFD); close(stderrFD)
        if reaped == nil { Glibc.kill(pid, SIGKILL); _ = wait() }
    }

    /// Writes all of `data` to the child's stdin; false when the child closed it.
    @discardableResult
    public func write(_ data: Data) -> Bool {
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(stdinFD, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 { if errno == EINTR { continue }; return false }
                offset += n
            }
            return true
        }
    }

    public func closeInput() {
        if stdinFD >= 0 { close(stdinFD); stdinFD = -1 }
    }

    public func kill(_ signal: Int32) { _ = Glibc.kill(pid, signal) }

    /// Reads stdout and stderr until both close or the deadline passes; true when both closed.
    public func readToEnd(stdout: inout Data, stderr: inout Data, deadline: Date) -> Bool {
        var open = [stdoutFD: true, stderrFD: true]
        var buffer = [UInt8](repeating: 0, count: 65536)
        while open.values.contains(true) {
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { return false }
            var fds = open.filter(\.value).map { pollfd(fd: $0.key, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&fds, nfds_t(fds.count), Int32(min(left, 1) * 1000))
            if ready < 0 && errno != EINTR { return false }
            for p in fds where p.revents != 0 {
                let n = buffer.withUnsafeMutableBytes { read(p.fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    if p.fd == stdoutFD { stdout.append(contentsOf: buffer[0..<n]) } else { stderr.append(contentsOf: buffer[0..<n]) }
                } else if n == 0 || errno != EINTR {
                    open[p.fd] = false
                }
            }
        }
        return true
    }

    /// Blocks until the child exits: its exit code, or the signal that ended it.
    @discardableResult
    public func wait() -> (code: Int32, signalled: Bool) {
        if let reaped { return reaped }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // WIFEXITED / WTERMSIG by hand: the C macros are not imported.
        let signalNumber = status & 0x7f
        let result = signalNumber == 0 ? (code: (status >> 8) & 0xff, signalled: false) : (code: signalNumber, signalled: true)
        reaped = result
        return result
    }
}
