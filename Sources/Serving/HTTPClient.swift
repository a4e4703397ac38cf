#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Model

/// A failure talking to a server: what was asked, of whom, and what came back.
public struct HTTPError: Error, CustomStringConvertible, Equatable {
    public enum Kind: Equatable, Sendable {
        /// No connection (refused, unreachable, reset before a response): worth a retry.
        case connection
        /// No byte within the timeout.
        case timeout
        /// A response with this status (the body excerpt is in `detail`).
        case status(Int)
        /// A response that does not parse as HTTP, or ends early.
        case malformed
        case cancelled
        /// The connection failed after part of a streamed reply was shown: not retried.
        case broken
        /// A URL or request this client does not do.
        case unsupported
    }
    public var kind: Kind
    public var detail: String

    public init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }

    public var description: String { detail }

    /// Connection errors, 408, 429 and 5xx are worth a retry; others are the request's fault.
    public var isRetryable: Bool {
        switch kind {
        case .connection: return true
        case .status(let code): return code == 408 || code == 429 || (500...599).contains(code)
        default: return false
        }
    }
}

/// An http:// base URL: host, port and path prefix.
public struct HTTPEndpoint: Sendable, Equatable {
    public var host: String
    public var port: Int
    /// The path every request is under ("/v1"), without a trailing slash.
    public var basePath: String

    public init(url: String) throws {
        guard let c = URLComponents(string: url), let scheme = c.scheme?.lowercased(), let host = c.host, !host.isEmpty else {
            throw HTTPError(.unsupported, "not a server URL: \(UntrustedText.excerpt(url)) (expected http://HOST:PORT/v1)")
        }
        guard scheme == "http" else {
            throw HTTPError(.unsupported, scheme == "https"
                ? "https is not supported: reach the server over an SSH tunnel (ssh -L 8000:127.0.0.1:8000 HOST) and use http://127.0.0.1:8000/v1"
                : "unsupported scheme '\(UntrustedText.excerpt(scheme))' in \(UntrustedText.excerpt(url)) (expected http://)")
        }
        guard c.user == nil, c.password == nil else {
            throw HTTPError(.unsupported, "the server URL must not carry credentials: pass the key's variable with --api-key-env")
        }
        self.host = host
        port = c.port ?? 80
        guard (1...65535).contains(port) else { throw HTTPError(.unsupported, "port \(port) is outside 1...65535") }
        var path = c.percentEncodedPath
        while path.hasSuffix("/") { path.removeLast() }
        basePath = path
    }

    /// http://host:port/path, for messages and the session (never with credentials).
    public var display: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "http://\(h):\(port)\(basePath)"
    }
}

/// Deadlines of a request, in seconds.
public struct HTTPTimeouts: Sendable, Equatable {
    public var connect: Double = 10
    /// Until the response head, and then between bytes of the body: a long prompt on a busy server
    /// may take a while before its first token.
    public var response: Double = 120

    public init(connect: Double = 10, response: Double = 120) {
        self.connect = connect
        self.response = response
    }
}

/// One HTTP/1.1 exchange over a TCP connection of its own (`Connection: close`): the head is read
/// whole, the body streamed (Content-Length, chunked, or up to the close). `cancel` shuts the
/// socket from any thread, which wakes a read at once (the `cancel` flag given to init does so
/// until the head is in; a caller streaming the body registers its own).
public final class HTTPExchange: @unchecked Sendable {
    public private(set) var status = 0
    public private(set) var headers: [(name: String, value: String)] = []
    private let socket: Int32
    private let timeouts: HTTPTimeouts
    private var buffer: [UInt8] = []
    private var framing = Framing.untilClose
    private let lock = NSLock()
    private var closed = false
    private var cancelled = false
    private let what: String

    enum Framing { case length(Int), chunked(remaining: Int, done: Bool), untilClose }

    /// Connects to `endpoint` and sends the request; returns once the response head is in.
    public init(_ endpoint: HTTPEndpoint, method: String, path: String, headers extra: [(String, String)] = [],
                body: Data? = nil, timeouts: HTTPTimeouts, cancel: CancellationFlag? = nil) throws {
        self.timeouts = timeouts
        what = "\(method) \(endpoint.display)\(path)"
        socket = try HTTPExchange.connect(endpoint, timeout: timeouts.connect, what: "\(method) \(endpoint.display)\(path)")
        let key = cancel?.onCancel { [weak self] in self?.cancel() }
        defer { if let key, key >= 0 { cancel?.remove(key) } }
        if cancel?.isCancelled ?? false { close(); throw HTTPError(.cancelled, "cancelled") }

        var head = "\(method) \(endpoint.basePath)\(path) HTTP/1.1\r\nHost: \(endpoint.host):\(endpoint.port)\r\n"
        head += "Connection: close\r\nUser-Agent: audit-workbench\r\n"
        if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" }
        for (name, value) in extra { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        var bytes = Array(head.utf8)
        if let body { bytes += body }
        try send(bytes)
        let (status, headers) = try readHead()
        self.status = status
        self.headers = headers
        framing = try HTTPExchange.framing(headers, what: what)
    }

    deinit { close() }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// Shuts the connection from any thread: a blocked read returns at once with `.cancelled`.
    public func cancel() {
        lock.lock()
        cancelled = true
        let open = !closed
        lock.unlock()
        if open { shutdown(socket, Int32(SHUT_RDWR)) }
    }

    public func close() {
        lock.lock()
        let wasOpen = !closed
        closed = true
        lock.unlock()
        if wasOpen { _ = Glibc.close(socket) }
    }

    private var isCancelled: Bool {
        lock.lock(); defer { lock.unlock() }
        return cancelled
    }

    /// The next piece of the body, or nil at its end.
    public func nextBodyChunk() throws -> [UInt8]? {
        switch framing {
        case .length(let remaining):
            if remaining == 0 { return nil }
            if buffer.isEmpty, try fill() == 0 { throw HTTPError(.malformed, "\(what): the body ended \(remaining) bytes early") }
            let n = min(remaining, buffer.count)
            let out = Array(buffer[..<n])
            buffer.removeFirst(n)
            framing = .length(remaining - n)
            return out
        case .chunked(let remaining, let done):
            if done { return nil }
            if remaining > 0 {
                if buffer.isEmpty, try fill() == 0 { throw HTTPError(.malformed, "\(what): the stream ended inside a chunk") }
                let n = min(remaining, buffer.count)
                let out = Array(buffer[..<n])
                buffer.removeFirst(n)
                framing = .chunked(remaining: remaining - n, done: false)
                if remaining - n == 0 { _ = try line() }  // the CRLF after the chunk
                return out
            }
            let sizeLine = try line()
            let hex = sizeLine.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            guard let size = Int(hex, radix: 16), size >= 0, hex.count <= 12 else {
                throw HTTPError(.malformed, "\(what): bad chunk size \(UntrustedText.excerpt(sizeLine))")
            }
            if size == 0 {
                while !(try line()).isEmpty {}  // trailers
                framing = .chunked(remaining: 0, done: true)
                return nil
            }
            framing = .chunked(remaining: size, done: false)
            return try nextBodyChunk()
        case .untilClose:
            if buffer.isEmpty, try fill() == 0 { return nil }
            let out = buffer
            buffer.removeAll()
            return out
        }
    }

    /// The whole body, at most `limit` bytes.
    public func readBody(limit: Int = 16 << 20) throws -> [UInt8] {
        var out: [UInt8] = []
        while let chunk = try nextBodyChunk() {
            out += chunk
            if out.count > limit { throw HTTPError(.malformed, "\(what): the response is over \(limit >> 20) MiB") }
        }
        return out
    }

    // MARK: - Socket

    private static func connect(_ endpoint: HTTPEndpoint, timeout: Double, what: String) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(endpoint.host, String(endpoint.port), &hints, &list)
        guard rc == 0, let first = list else {
            throw HTTPError(.connection, "\(what): cannot resolve \(UntrustedText.excerpt(endpoint.host)): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let a = node {
            node = a.pointee.ai_next
            let fd = Glibc.socket(a.pointee.ai_family, a.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), a.pointee.ai_protocol)
            if fd < 0 { lastError = String(cString: strerror(errno)); continue }
            let flags = fcntl(fd, F_GETFL, 0)
            _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            if Glibc.connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 { return fd }
            if errno == EINPROGRESS {
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                let ready = poll(&p, 1, Int32(timeout * 1000))
                if ready == 1 {
                    var err: Int32 = 0
                    var len = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
                    if err == 0 { return fd }
                    lastError = String(cString: strerror(err))
                } else {
                    lastError = ready == 0 ? "no answer within \(format(timeout)) s" : String(cString: strerror(errno))
                }
            } else {
                lastError = String(cString: strerror(errno))
            }
            _ = Glibc.close(fd)
        }
        throw HTTPError(.connection, "\(what): cannot connect: \(lastError)")
    }

    private func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 { sent += n; continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                try wait(events: Int16(POLLOUT), seconds: timeouts.response)
                continue
            }
            if isCancelled { throw HTTPError(.cancelled, "cancelled") }
            throw HTTPError(.connection, "\(what): sending the request failed: \(String(cString: strerror(errno)))")
        }
    }

    private func wait(events: Int16, seconds: Double) throws {
        var p = pollfd(fd: socket, events: events, revents: 0)
        while true {
            let r = poll(&p, 1, Int32(min(seconds, 86_400) * 1000))
            if r > 0 { return }
            if r < 0 && errno == EINTR { continue }
            if isCancelled { throw HTTPError(.cancelled, "cancelled") }
            if r == 0 { throw HTTPError(.timeout, "\(what): no answer within \(HTTPExchange.format(seconds)) s") }
            throw HTTPError(.connection, "\(what): \(String(cString: strerror(errno)))")
        }
    }

    /// Reads more into the buffer; returns the bytes read (0 at the end of the stream).
    @discardableResult
    private func fill() throws -> Int {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            if isCancelled { throw HTTPError(.cancelled, "cancelled") }
            let n = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                buffer += chunk[..<n]
                return n
            }
            if n == 0 {
                if isCancelled { throw HTTPError(.cancelled, "cancelled") }
                return 0
            }
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR {
                try wait(events: Int16(POLLIN), seconds: timeouts.response)
                continue
            }
            if isCancelled { throw HTTPError(.cancelled, "cancelled") }
            throw HTTPError(.connection, "\(what): the connection failed: \(String(cString: strerror(errno)))")
        }
    }

    /// One CRLF- (or LF-) terminated line of the head or chunk framing, at most 64 KiB.
    private func line() throws -> String {
        var scanned = 0
        while true {
            if let i = buffer[scanned...].firstIndex(of: 0x0A) {
                var end = i
                if end > 0 && buffer[end - 1] == 0x0D { end -= 1 }
                let text = String(decoding: buffer[..<end], as: UTF8.self)
                buffer.removeFirst(i + 1)
                return text
            }
            scanned = buffer.count
            guard buffer.count < 65536 else { throw HTTPError(.malformed, "\(what): a header line over 64 KiB") }
            if try fill() == 0 { throw HTTPError(.connection, "\(what): the server closed the connection") }
        }
    }

    private func readHead() throws -> (Int, [(name: String, value: String)]) {
        let statusLine = try line()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let code = Int(parts[1]), (100...599).contains(code) else {
            throw HTTPError(.malformed, "\(what): not an HTTP response: \(UntrustedText.excerpt(statusLine))")
        }
        var headers: [(name: String, value: String)] = []
        while true {
            let l = try line()
            if l.isEmpty { break }
            guard headers.count < 200, let colon = l.firstIndex(of: ":") else {
                throw HTTPError(.malformed, "\(what): bad header line \(UntrustedText.excerpt(l))")
            }
            headers.append((String(l[..<colon]).trimmingCharacters(in: .whitespaces),
                            String(l[l.index(after: colon)...]).trimmingCharacters(in: .whitespaces)))
        }
        if (100...199).contains(code) { return try readHead() }  // 100 Continue and the like
        return (code, headers)
    }

    private static func framing(_ headers: [(name: String, value: String)], what: String) throws -> Framing {
        if let te = headers.first(where: { $0.name.lowercased() == "transfer-encoding" })?.value, te.lowercased().contains("chunked") {
            return .chunked(remaining: 0, done: false)
        }
        if let cl = headers.first(where: { $0.name.lowercased() == "content-length" })?.value {
            guard let n = Int(cl), n >= 0 else { throw HTTPError(.malformed, "\(what): bad Content-Length \(UntrustedText.excerpt(cl))") }
            return .length(n)
        }
        return .untilClose
    }

    static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(format: "%.1f", seconds)
    }
}
