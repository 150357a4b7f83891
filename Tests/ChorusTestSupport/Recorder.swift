import ChorusLoop

/// A thread-safe list that loop callbacks append to and tests read.
public final class Recorder<T: Sendable>: Sendable {
    private let items = LockedValue<[T]>([])

    public init() {}

    public func append(_ item: T) { items.withLock { $0.append(item) } }
    public var all: [T] { items.withLock { $0 } }
    public var count: Int { items.withLock { $0.count } }
}
