import Foundation

/// A thread-safe counter for scripted servers: `next()` returns 0, 1, 2, ... across threads.
public final class CallCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    public init() {}
    public func next() -> Int { lock.lock(); defer { n += 1; lock.unlock() }; return n }
    public var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}
