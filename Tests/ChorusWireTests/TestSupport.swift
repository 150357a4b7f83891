#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
@testable import ChorusWire

/// SplitMix64: a tiny, fast, seedable generator, so every randomized test replays from its seed.
struct SplitMix64: RandomNumberGenerator {
    private(set) var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }

    /// `count` random bytes, eight per draw.
    mutating func bytes(count: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var index = 0
            while index < count {
                var word = next()
                for _ in 0 ..< min(8, count - index) {
                    buffer[index] = UInt8(truncatingIfNeeded: word)
                    word >>= 8
                    index += 1
                }
            }
            initialized = count
        }
    }
}

/// The seed for a randomized test: `CHORUS_WIRE_SEED` (decimal or 0x-hex) if set, else `fixed`.
/// Printed so a failing run can be replayed.
func testSeed(_ name: String, fixed: UInt64) -> UInt64 {
    var seed = fixed
    if let raw = getenv("CHORUS_WIRE_SEED") {
        let text = String(cString: raw)
        if let parsed = text.hasPrefix("0x") ? UInt64(text.dropFirst(2), radix: 16) : UInt64(text) {
            seed = parsed
        }
    }
    print("\(name): seed \(hex(seed, digits: 16)) (replay with CHORUS_WIRE_SEED=\(hex(seed, digits: 16)))")
    return seed
}

/// A frame assembled by hand, so tests can break any header field.
func craftFrame(
    magic: UInt16 = FrameHeader.magic,
    version: UInt8 = FrameHeader.currentVersion,
    type: UInt8,
    declaredLength: UInt32? = nil,
    payload: [UInt8] = []
) -> [UInt8] {
    var writer = WireWriter()
    writer.writeUInt16(magic)
    writer.writeUInt8(version)
    writer.writeUInt8(type)
    writer.writeUInt32(declaredLength ?? UInt32(payload.count))
    writer.writeRawBytes(payload)
    return writer.finish()
}

/// The error `body` throws, or nil if it returns. Any error other than a `WireError` is a test failure.
func wireError(_ body: () throws -> some Any) -> WireError? {
    do {
        _ = try body()
        return nil
    } catch let error as WireError {
        return error
    } catch {
        Issue.record("expected a WireError, got \(error)")
        return nil
    }
}

/// A spread of valid messages: every type, empty and maximal fields, unicode.
let sampleMessages: [Message] = [
    .hello(Hello(cluster: "prod", node: "node-1", uid: NodeUID(rawValue: 0x0123_4567_89AB_CDEF),
                 bindAddress: "10.0.0.1:7946", software: "chorus 0.1.0")),
    .hello(Hello(cluster: "", node: "", uid: NodeUID(rawValue: 0), bindAddress: "", software: "")),
    .hello(Hello(cluster: "chœur-🎶", node: "ノード", uid: NodeUID(rawValue: .max),
                 bindAddress: "[::1]:7946", software: "e\u{301} \u{0}nul")),
    .hello(Hello(cluster: String(repeating: "x", count: WireLimits.maxStringBytes),
                 node: String(repeating: "é", count: WireLimits.maxStringBytes / 2),
                 uid: NodeUID(rawValue: 42),
                 bindAddress: String(repeating: "🎶", count: WireLimits.maxStringBytes / 4),
                 software: "a")),
    .ping(Ping(sequence: 0, sentAtNanos: 0)),
    .ping(Ping(sequence: 7, sentAtNanos: 1_700_000_000_000_000_000)),
    .pong(Pong(sequence: .max, sentAtNanos: .max)),
    .pong(Pong(echoing: Ping(sequence: 1, sentAtNanos: 2))),
    .transportProbe([]),
    .transportProbe([0xC4]),
    .transportProbe(Array(0 ... 255)),
]
