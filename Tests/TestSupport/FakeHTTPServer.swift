#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A scripted HTTP server on 127.0.0.1 for the remote engine's fault tests: each connection's
/// request is parsed and handed to `handler`, which answers through the connection (write raw
/// bytes, pause, close, reset). It records every request and how many connections were open at
/// once. Only for tests: the real servers are vLLM and llama.cpp's.
public final class FakeHTTPServer: @unchecked Sendable {
    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var headers: [String: String]  // lower-cased names
        public var body: Data

        public var json: [String: Any]? { try? JSONSerialization.jsonObject(with: body) as? [String: Any] }
    }

    public final class Connection: @unchecked Sendable {
        let fd: Int32
        init(fd: Int32) { self.fd = fd }

        /// Writes `text`; false when the client has gone.
        @discardableResult
        public func write(_ text: String) -> Bool { write(Data(text.utf8)) }

        @discardableResult
        public func write(_ data: Data) -> Bool {
            var sent = 0
            while sent < data.count {
                let n = data[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n <= 0 { return false }
                sent += n
            }
            return true
        }

        /// A complete response with a body.
        public func respond(_ status: Int, _ body: String, headers: [String: String] = [:]) {
            var head = "HTTP/1.1 \(status) \(status == 200 ? "OK" : "Status")\r\nContent-Length: \(body.utf8.count)\r\n"
            for (k, v) in headers { head += "\(k): \(v)\r\n" }
            write(head + "\r\n" + body)
        }

        /// The head of a streamed (chunked) event-stream response.
        public func startEvents() {
            write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
        }

        /// One chunk holding `text`.
        @discardableResult
        public func chunk(_ text: String) -> Bool {
            let bytes = Data(text.utf8)
            return write(String(bytes.count, radix: 16) + "\r\n") && write(bytes) && write("\r\n")
        }

        /// A completion event carrying `text` (and a finish reason when given).
        @discardableResult
        public func event(text: String, finish: String? = nil) -> Bool {
            let choice: [String: Any] = ["index": 0, "text": text, "finish_reason": finish ?? NSNull()]
            let json = try! JSONSerialization.data(withJSONObject: ["choices": [choice]])
            return chunk("data: " + String(decoding: json, as: UTF8.self) + "\n\n")
        }

        public func endEvents() {
            chunk("data: [DONE]\n\n")
            write("0\r\n\r\n")
        }

        /// Closes with a reset (as a killed process's kernel would after unread data).
        public func reset() {
            var l = linger(l_onoff: 1, l_linger: 0)
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
            close(fd)
        }

        /// Waits until the client closes its end (or `seconds` pass); true when it did.
        public func waitForClientClose(seconds: Double) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            var byte: UInt8 = 0
            while Date() < deadline {
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                if poll(&p, 1, 50) > 0 {
                    let n = recv(fd, &byte, 1, 0)
                    if n <= 0 { return true }
                }
            }
            return false
        }
    }

    public let port: Int
    private let listener: Int32
    private let handler: @Sendable (Request, Connection) -> Void
    private let lock = NSLock()
    private var _requests: [Request] = []
    private var open = 0
    private var _maxOpen = 0
    private var stopped = false

    public var requests: [Request] { lock.lock(); defer { lock.unlock() }; return _requests }
    public var maxConcurrentConnections: Int { lock.lock(); defer { lock.unlock() }; return _maxOpen }

    /// `handler` runs on a thread of its own for each connection; the connection is closed after it
    /// returns (unless it reset it).
    public init(handler: @escaping @Sendable (Request, Connection) -> Void) throws {
        self.handler = handler
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var one: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(listener, 64) == 0 else {
            port = 0
            throw NSError(domain: "FakeHTTPServer", code: Int(errno))
        }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &len) } }
        port = Int(UInt16(bigEndian: addr.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    public var url: String { "http://127.0.0.1:\(port)/v1" }

    public func stop() {
        lock.lock(); stopped = true; lock.unlock()
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    deinit { stop() }

    private func acceptLoop() {
        while true {
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                lock.lock(); let done = stopped; lock.unlock()
                if done || errno == EBADF || errno == EINVAL { return }
                continue
            }
            let thread = Thread { [self] in serve(fd) }
            thread.start()
        }
    }

    private func serve(_ fd: Int32) {
        lock.lock(); open += 1; _maxOpen = max(_maxOpen, open); lock.unlock()
        defer { lock.lock(); open -= 1; lock.unlock() }
        guard let request = readRequest(fd) else { close(fd); return }
        lock.lock(); _requests.append(request); lock.unlock()
        let connection = Connection(fd: fd)
        handler(request, connection)
        close(fd)
    }

    private func readRequest(_ fd: Int32) -> Request? {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            if let end = data.range(of: Data("\r\n\r\n".utf8)) {
                let head = String(decoding: data[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
                let first = head[0].split(separator: " ")
                guard first.count >= 2 else { return nil }
                var headers: [String: String] = [:]
                for line in head.dropFirst() {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                let length = Int(headers["content-length"] ?? "0") ?? 0
                var body = Data(data[end.upperBound...])
                while body.count < length {
                    let n = recv(fd, &buffer, buffer.count, 0)
                    if n <= 0 { return nil }
                    body.append(contentsOf: buffer[..<n])
                }
                return Request(method: String(first[0]), path: String(first[1]), headers: headers, body: body)
            }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return nil }
            data.append(contentsOf: buffer[..<n])
        }
    }
}
