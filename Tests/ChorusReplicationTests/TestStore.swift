import ChorusReplication
import ChorusWire

/// The key of the stores these specs replicate.
struct TestKey: Hashable, Sendable, WireBody, CustomStringConvertible, ExpressibleByStringLiteral {
    var name: String

    init(_ name: String) { self.name = name }
    init(stringLiteral value: String) { name = value }

    func encode(to writer: inout WireWriter) { writer.writeString(name) }
    init(from reader: inout WireReader) throws(WireError) { name = try reader.readString() }

    var description: String { name }
}

/// The value of the stores these specs replicate.
struct TestValue: Equatable, Sendable, WireBody, ExpressibleByIntegerLiteral {
    var number: UInt64

    init(_ number: UInt64) { self.number = number }
    init(integerLiteral value: UInt64) { number = value }

    func encode(to writer: inout WireWriter) { writer.writeUInt64(number) }
    init(from reader: inout WireReader) throws(WireError) { number = try reader.readUInt64() }
}

typealias TestState = ReplicaState<TestKey, TestValue>
typealias TestDelta = KeyDelta<TestKey, TestValue>
typealias TestInstance = ReplicationInstance<TestKey, TestValue>

func uid(_ number: UInt64) -> NodeUID { NodeUID(rawValue: number) }

func dot(_ origin: UInt64, _ sequence: UInt64) -> Dot { Dot(origin: uid(origin), sequence: sequence) }

extension ReplicaState where Key == TestKey, Value == TestValue {
    /// The key's values, sorted (the order of concurrent entries means nothing).
    func numbers(_ key: TestKey) -> [UInt64] { (self[key]?.values ?? []).map(\.number).sorted() }
}

/// A replica that numbers its own writes, for specs of the state alone.
struct Writer {
    var origin: UInt64
    var sequence: UInt64 = 0
    var state = TestState()
    var deltas: [TestDelta] = []

    init(_ origin: UInt64) { self.origin = origin }

    @discardableResult
    mutating func write(_ key: TestKey, _ value: UInt64?) -> TestDelta {
        sequence += 1
        let delta = state.write(key, value.map { TestValue($0) }, dot: dot(origin, sequence))
        deltas.append(delta)
        return delta
    }
}
