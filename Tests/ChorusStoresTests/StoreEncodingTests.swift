import ChorusCore
import ChorusReplication
import ChorusStores
import ChorusWire
import Testing

/// Store keys and values on the wire and on disk: canonical, tagged, and refusing junk.
struct StoreEncodingTests {
    static let handle = ShapeHandle(hash: 0x0123_4567_89ab_cdef, millis: 1_718_000_000_000)

    static let keys: [StoreKey] = [
        .epochClient(client: "default"),
        .epochClient(client: ""),
        .epoch(EpochKey(client: "default", topic: "persistent://public/default/orders", producer: "p-1", mode: .exclusiveWithFencing)),
        .epoch(EpochKey(client: "c", topic: "t\u{E9}", producer: "", mode: .shared)),
        .shape(stack: "stack-1", handle: handle, field: .definition),
        .shape(stack: "", handle: handle, field: .snapshotStarted),
        .process(name: "operators", entity: "items"),
    ]

    static let values: [StoreValue] = [
        .marker, .epoch(0), .epoch(.max), .shape(Shape(definition: "{\"table\":\"items\"}")), .shape(Shape(definition: "")),
        .xmin(-5), .xmin(981), .offset(.beforeAll), .offset(.last), .offset(LogOffset(txOffset: 12, opOffset: 3)),
        .timestamp(1_718_000_000_000_000), .timestamp(.min),
    ]

    @Test("given every kind of key, when encoded and decoded, then it is the same key, and encoding it again gives the same bytes")
    func keyRoundTrip() throws {
        for key in Self.keys {
            let bytes = key.encoded()
            let decoded = try StoreKey(decoding: bytes)
            #expect(decoded == key)
            #expect(decoded.encoded() == bytes)
        }
    }

    @Test("given every kind of value, when encoded and decoded, then it is the same value, and encoding it again gives the same bytes")
    func valueRoundTrip() throws {
        for value in Self.values {
            let bytes = value.encoded()
            let decoded = try StoreValue(decoding: bytes)
            #expect(decoded == value)
            #expect(decoded.encoded() == bytes)
        }
        let shape = try StoreValue(decoding: StoreValue.shape(Shape(definition: "x")).encoded())
        #expect(shape == .shape(Shape(definition: "x")))
        if case let .shape(decoded) = shape { #expect(decoded.hash == Shape.fnv1a64("x")) }
    }

    @Test("given each case, then its encoding starts with its stable one-byte tag (keys 1-4, values 1-6)")
    func stableTags() {
        #expect(StoreKey.epochClient(client: "c").encoded() == [1, 0, 1, 0x63])
        #expect(StoreKey.epoch(EpochKey(client: "c", topic: "t", producer: "p", mode: .waitForExclusive)).encoded()
                == [2, 0, 1, 0x63, 0, 1, 0x74, 0, 1, 0x70, 4])
        #expect(StoreKey.shape(stack: "s", handle: ShapeHandle(hash: 0, millis: 7), field: .latestOffset).encoded()
                == [3, 0, 1, 0x73, 0, 18] + Array("0000000000000000-7".utf8) + [3])
        #expect(StoreKey.process(name: "n", entity: "e").encoded() == [4, 0, 1, 0x6E, 0, 1, 0x65])
        #expect(StoreValue.marker.encoded() == [1])
        #expect(StoreValue.epoch(5).encoded() == [2, 0, 0, 0, 0, 0, 0, 0, 5])
        #expect(StoreValue.shape(Shape(definition: "d")).encoded() == [3, 0, 1, 0x64])
        #expect(StoreValue.xmin(-1).encoded() == [4] + Array(repeating: 0xFF, count: 8))
        #expect(StoreValue.offset(.first).encoded() == [5] + Array(repeating: 0, count: 16))
        #expect(StoreValue.timestamp(1).encoded() == [6, 0, 0, 0, 0, 0, 0, 0, 1])
    }

    @Test("given malformed bytes (an unknown tag, a bad mode or field, a handle that is not one, a trailing byte), then decoding throws a WireError",
          arguments: [
            [0, 0, 1, 0x63], [5, 0, 1, 0x63], [2, 0, 1, 0x63, 0, 1, 0x74, 0, 1, 0x70, 0], [2, 0, 1, 0x63, 0, 1, 0x74, 0, 1, 0x70, 5],
            [3, 0, 1, 0x73, 0, 3, 0x61, 0x2D, 0x31, 1], [3, 0, 1, 0x73, 0, 18] + Array("0000000000000000-7".utf8) + [0],
            [3, 0, 1, 0x73, 0, 18] + Array("0000000000000000-7".utf8) + [5], [1, 0, 1, 0x63, 0], [1, 0, 1, 0xFF], [1, 0, 2, 0x63],
          ] as [[UInt8]])
    func malformedKeys(_ bytes: [UInt8]) {
        #expect(throws: WireError.self) { try StoreKey(decoding: bytes) }
    }

    @Test("given malformed value bytes (an unknown tag, a short integer, a trailing byte), then decoding throws a WireError",
          arguments: [[0], [7], [], [2, 0, 0, 0], [1, 0], [5] + Array(repeating: 0, count: 15), [3, 0, 2, 0x64]] as [[UInt8]])
    func malformedValues(_ bytes: [UInt8]) {
        #expect(throws: WireError.self) { try StoreValue(decoding: bytes) }
    }

    @Test("given every valid encoding cut short, then decoding throws, never traps")
    func truncated() {
        for key in Self.keys {
            let bytes = key.encoded()
            for length in 0 ..< bytes.count {
                #expect(throws: WireError.self) { try StoreKey(decoding: Array(bytes[..<length])) }
            }
        }
        for value in Self.values {
            let bytes = value.encoded()
            for length in 0 ..< bytes.count {
                #expect(throws: WireError.self) { try StoreValue(decoding: Array(bytes[..<length])) }
            }
        }
    }

    @Test("given valid encodings with random bytes changed (fixed seed), then decoding throws a WireError or gives a value that encodes to the same bytes")
    func mutated() {
        var random = ProtocolRandom(seed: 0x5707_e5)
        let entries = CausalEntries(CausalEntry(dot: Dot(origin: NodeUID(rawValue: 3), sequence: 9), value: StoreValue.epoch(4)))
        let deltas = Self.keys.enumerated().map { index, key in
            KeyDelta(key: key, dot: Dot(origin: NodeUID(rawValue: 1), sequence: UInt64(index + 1)),
                     value: Self.values[index % Self.values.count], removed: [entries.first.dot])
        }
        var decodedSome = 0
        for _ in 0 ..< 20_000 {
            var bytes = deltas[Int(random.next() % UInt64(deltas.count))].encoded()
            for _ in 0 ... random.next() % 3 {
                bytes[Int(random.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random.next())
            }
            do {
                let decoded = try KeyDelta<StoreKey, StoreValue>(decoding: bytes)
                decodedSome += 1
                #expect(decoded.encoded() == bytes)
            } catch {
                // Refused with a WireError (the typed throw says so); nothing else to check.
            }
        }
        #expect(decodedSome > 0, "some changed bytes are still valid (an integer's), and must stay canonical")
    }
}

/// The memory a key costs in a replica's map (see `StoreKey`'s layout goal).
struct StoreLayoutTests {
    @Test("given the store enums, then an epoch key's slot in the replica's map costs well under 300 bytes beyond its strings' text")
    func epochKeyCost() {
        #expect(MemoryLayout<EpochKey>.size <= 49)
        #expect(MemoryLayout<StoreKey>.stride <= 56, "no case is bigger than an epoch key")
        #expect(MemoryLayout<StoreValue>.size <= 17, "a shape is boxed; the offset is the biggest payload")
        #expect(MemoryLayout<CausalEntries<StoreValue>>.stride <= 48)
        // A Swift dictionary keeps keys and values in arrays of a power-of-two number of buckets, at
        // most 3/4 full (and 3/8 just after it doubles), plus one bit per bucket.
        let slot = Double(MemoryLayout<StoreKey>.stride + MemoryLayout<CausalEntries<StoreValue>>.stride) + 1.0 / 8
        #expect(slot / 0.75 < 150, "at the map's fullest")
        #expect(slot / 0.5625 < 200, "on average between doublings")
        #expect(slot / 0.375 < 300, "just after the map doubled")
    }
}
