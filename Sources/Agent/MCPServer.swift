import Foundation
import Model

/// A Model Context Protocol server over stdio: newline-delimited JSON-RPC 2.0 on stdin and stdout,
/// logs on stderr. One reader thread takes messages as they come (so a cancellation reaches a call
/// that is running); tool calls run one at a time on a worker queue (the model has one forward
/// pass). Malformed input, unknown methods and tools and bad arguments are answered with JSON-RPC
/// errors and the server keeps serving; end of input stops it after the running call.
public final class MCPServer: @unchecked Sendable {
    /// Revisions of the initialize handshake this server speaks, oldest first.
    public static let protocolVersions = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]

    public let tools: AuditTools
    private let output: FileHandle
    private let log: FileHandle
    private let writeLock = NSLock()
    private let worker = DispatchQueue(label: "workbench.mcp.tools")
    private let group = DispatchGroup()
    private let stateLock = NSLock()
    private var running: [String: CancellationFlag] = [:]
    private var cancelledIDs: Set<String> = []
    private var outputBroken = false

    public init(tools: AuditTools, output: FileHandle = .standardOutput, log: FileHandle = .standardError) {
        self.tools = tools
        self.output = output
        self.log = log
    }

    /// Serves until end of input (or until the output is gone), then waits for the running call.
    public func run(input: FileHandle = .standardInput) {
        signal(SIGPIPE, SIG_IGN)
        var reader = LineReader(fd: input.fileDescriptor, limit: 64 << 20)
        while let line = reader.next() {
            switch line {
            case .tooLong:
                send(error: -32700, "a message over 64 MiB", id: NSNull())
            case .line(let data):
                if data.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
                handle(data)
            }
            stateLock.lock(); let broken = outputBroken; stateLock.unlock()
            if broken { break }
        }
        // The client is gone: stop what runs, let it finish its write to the session, then return.
        stateLock.lock(); let flags = Array(running.values); stateLock.unlock()
        for f in flags { f.cancel() }
        group.wait()
    }

    func say(_ text: String) {
        log.write(Data(("workbench mcp: " + text + "\n").utf8))
    }

    // MARK: - Messages

    func handle(_ data: Data) {
        guard let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else {
            return send(error: -32700, "parse error: not JSON", id: NSNull())
        }
        guard let message = object as? [String: Any] else {
            return send(error: -32600, object is [Any] ? "invalid request: batches are not supported" : "invalid request: not a JSON object", id: NSNull())
        }
        let id = message["id"]
        let idIsValid = id == nil || id is String || ToolSchema.isNumber(id!)
        guard message["jsonrpc"] as? String == "2.0", idIsValid else {
            return send(error: -32600, "invalid request: needs \"jsonrpc\": \"2.0\" and a string or number id", id: idIsValid ? (id ?? NSNull()) : NSNull())
        }
        guard let method = message["method"] as? String else {
            if id != nil, message["result"] != nil || message["error"] != nil { return }  // a response to us: none expected
            return send(error: -32600, "invalid request: no method", id: id ?? NSNull())
        }
        let params = message["params"] as? [String: Any] ?? [:]
        guard let id else { return notification(method, params) }
        switch method {
        case "initialize":
            let asked = params["protocolVersion"] as? String ?? ""
            let version = Self.protocolVersions.contains(asked) ? asked : Self.protocolVersions.last!
            send(result: [
                "protocolVersion": version,
                "capabilities": ["tools": ["listChanged": false]],
                "serverInfo": ["name": "audit-workbench", "title": "Alignment-auditing workbench", "version": "0.1"],
                "instructions": tools.instructions,
            ], id: id)
        case "ping":
            send(result: [:], id: id)
        case "tools/list":
            send(result: ["tools": tools.list()], id: id)
        case "tools/call":
            call(params, id: id)
        default:
            send(error: -32601, "method not found: \(UntrustedText.excerpt(method, limit: 80))", id: id)
        }
    }

    func notification(_ method: String, _ params: [String: Any]) {
        switch method {
        case "notifications/cancelled":
            guard let id = params["requestId"] else { return }
            let key = Self.key(id)
            stateLock.lock()
            cancelledIDs.insert(key)
            let flag = running[key]
            stateLock.unlock()
            flag?.cancel()
        default:
            break  // notifications/initialized and others need nothing
        }
    }

    static func key(_ id: Any) -> String { (id as? String).map { "s:" + $0 } ?? "n:\(id)" }

    func call(_ params: [String: Any], id: Any) {
        guard let name = params["name"] as? String else { return send(error: -32602, "tools/call needs a tool \"name\"", id: id) }
        guard let tool = tools.tool(named: name) else {
            return send(error: -32602, "unknown tool: \(UntrustedText.excerpt(name, limit: 80)) (tools/list lists them)", id: id)
        }
        let arguments: [String: Any]
        switch params["arguments"] {
        case nil, is NSNull: arguments = [:]
        case let a as [String: Any]: arguments = a
        default: return send(error: -32602, "\(name): \"arguments\" must be an object", id: id)
        }
        if let problem = tool.schema.problem(with: arguments) {
            return send(error: -32602, "\(name): \(problem)", id: id)
        }
        let progressToken = (params["_meta"] as? [String: Any])?["progressToken"]
        let flag = CancellationFlag()
        let key = Self.key(id)
        stateLock.lock()
        running[key] = flag
        stateLock.unlock()
        group.enter()
        worker.async { [self] in
            defer { group.leave() }
            let progress: (Double, Double?, String) -> Void = { [weak self] done, total, message in
                guard let self, let progressToken else { return }
                var p: [String: Any] = ["progressToken": progressToken, "progress": done, "message": message]
                if let total { p["total"] = total }
                self.send(["jsonrpc": "2.0", "method": "notifications/progress", "params": p])
            }
            let result = tools.call(tool, arguments: arguments, cancel: flag, progress: progress)
            stateLock.lock()
            running[key] = nil
            let cancelled = cancelledIDs.remove(key) != nil
            stateLock.unlock()
            if cancelled { return }  // the client asked to stop: no response is expected
            send(result: result, id: id)
        }
    }

    // MARK: - Output

    func send(result: [String: Any], id: Any) {
        send(["jsonrpc": "2.0", "id": id, "result": result])
    }

    func send(error code: Int, _ message: String, id: Any) {
        send(["jsonrpc": "2.0", "id": id, "error": ["code": code, "message": message]])
    }

    func send(_ object: [String: Any]) {
        guard var data = try? JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes]) else {
            return say("could not encode a message")
        }
        data.append(0x0A)
        writeLock.lock()
        defer { writeLock.unlock() }
        let ok = data.withUnsafeBytes { raw -> Bool in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(output.fileDescriptor, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 { if errno == EINTR { continue }; return false }
                offset += n
            }
            return true
        }
        if !ok {
            stateLock.lock(); outputBroken = true; stateLock.unlock()
        }
    }
}

/// Lines of a file descriptor, each at most `limit` bytes (a longer one is skipped and reported).
struct LineReader {
    enum Line { case line(Data), tooLong }
    let fd: Int32
    let limit: Int
    private var buffer: [UInt8] = []
    private var skipping = false
    private var eof = false

    init(fd: Int32, limit: Int) {
        self.fd = fd
        self.limit = limit
    }

    mutating func next() -> Line? {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            if let nl = buffer.firstIndex(of: 0x0A) {
                let line = Data(buffer[..<nl])
                buffer.removeFirst(nl + 1)
                if skipping { skipping = false; return .tooLong }
                return .line(line)
            }
            if buffer.count > limit {
                buffer.removeAll()
                skipping = true
            }
            if eof {
                if buffer.isEmpty { return nil }
                let line = Data(buffer)
                buffer.removeAll()
                return skipping ? .tooLong : .line(line)
            }
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                buffer += chunk[..<n]
            } else if n == 0 || errno != EINTR {
                eof = true
            }
        }
    }
}
