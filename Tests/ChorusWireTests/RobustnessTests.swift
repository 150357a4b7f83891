import ChorusTestSupport
import Testing
@testable import ChorusWire

/// Hostile and corrupt input: the decoder must return a message or a `WireError` for every
/// byte sequence, never trap. When it does return a message, re-encoding that message must give
/// back the input byte for byte (encodings are canonical, so nothing in a frame goes unchecked).
///
/// Failures are collected and asserted once at the end to keep 100,000 cases fast.
@Suite struct RobustnessTests {
    /// Outcome counts for one run, printed so a reader can see the inputs reached the body decoders.
    struct Tally: CustomStringConvertible {
        var decoded = 0
        var errors: [String: Int] = [:]
        var nonCanonical: [[UInt8]] = []

        mutating func check(_ input: [UInt8]) {
            do throws(WireError) {
                let message = try WireCodec.decode(frame: input)
                decoded += 1
                if WireCodec.encode(message) != input, nonCanonical.count < 5 {
                    nonCanonical.append(input)
                }
            } catch {
                let kind: String = switch error {
                case .truncated: "truncated"
                case .badMagic: "badMagic"
                case .unsupportedVersion: "unsupportedVersion"
                case .unknownType: "unknownType"
                case .oversized: "oversized"
                case .malformed: "malformed"
                }
                errors[kind, default: 0] += 1
            }
        }

        var description: String {
            "decoded \(decoded), errors " + errors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        }
    }

    @Test("given 100,000 random byte arrays of length 0...256, each decodes to a message or a WireError")
    func randomBytes() {
        var rng = SplitMix64(seed: testSeed("randomBytes", fixed: 0xC40F_0001))
        var tally = Tally()
        for _ in 0 ..< 100_000 {
            let input = rng.bytes(count: Int.random(in: 0 ... 256, using: &rng))
            tally.check(input)
        }
        print("randomBytes: \(tally)")
        #expect(tally.nonCanonical == [])
    }

    @Test("given 100,000 valid headers over random payloads, each decodes to a message or a WireError")
    func randomPayloads() {
        // Purely random bytes almost never pass the magic check; these reach the body decoders.
        var rng = SplitMix64(seed: testSeed("randomPayloads", fixed: 0xC40F_0002))
        var tally = Tally()
        let types = MessageType.allCases
        for _ in 0 ..< 100_000 {
            let type = types[Int(rng.next() % UInt64(types.count))]
            var payload: [UInt8]
            switch type {
            case .hello where rng.next() % 2 == 0:
                // Hello-shaped: short strings (random or printable bytes) around a uid.
                var writer = WireWriter()
                for field in 0 ..< 5 {
                    if field == 2 { writer.writeUInt64(rng.next()); continue }
                    let length = Int(rng.next() % 12)
                    writer.writeUInt16(UInt16(length))
                    let printable = rng.next() % 4 != 0
                    writer.writeRawBytes((0 ..< length).map { _ in printable ? 0x20 + rng.byte() % 0x5F : rng.byte() })
                }
                payload = writer.finish()
                if rng.next() % 4 == 0 { payload.append(contentsOf: rng.bytes(count: 1 + Int(rng.next() % 4))) }
            case .ping, .pong:
                payload = rng.bytes(count: rng.next() % 2 == 0 ? 16 : Int(rng.next() % 25))
            default:
                payload = rng.bytes(count: Int.random(in: 0 ... 256, using: &rng))
            }
            tally.check(craftFrame(type: type.rawValue, payload: payload))
        }
        print("randomPayloads: \(tally)")
        #expect(tally.nonCanonical == [])
    }

    @Test("given valid frames mutated by flips, inserts, deletes and truncations (100,000 cases), each decodes or throws")
    func mutations() {
        var rng = SplitMix64(seed: testSeed("mutations", fixed: 0xC40F_0003))
        var tally = Tally()
        let corpus = sampleMessages.map { WireCodec.encode($0) }.filter { $0.count <= 4096 }
        for _ in 0 ..< 100_000 {
            var input = corpus[Int(rng.next() % UInt64(corpus.count))]
            for _ in 0 ... rng.next() % 4 {
                let position = input.isEmpty ? 0 : Int(rng.next() % UInt64(input.count))
                switch rng.next() % 6 {
                case 0 where !input.isEmpty:
                    input[position] ^= 1 << (rng.next() % 8)                    // flip one bit
                case 1 where !input.isEmpty:
                    input[position] = rng.byte()                                 // replace a byte
                case 2:
                    input.insert(rng.byte(), at: input.isEmpty ? 0 : position)   // insert a byte
                case 3 where !input.isEmpty:
                    input.remove(at: position)                                   // delete a byte
                case 4:
                    input.removeLast(Int(rng.next() % UInt64(input.count + 1)))  // truncate
                default:
                    // Corrupt the declared length, the field a stream reader trusts most.
                    if input.count >= FrameHeader.size { input[4 + Int(rng.next() % 4)] = rng.byte() }
                }
            }
            tally.check(input)
        }
        print("mutations: \(tally)")
        #expect(tally.nonCanonical == [])
    }

    @Test("given random hellos with strings at and over the limit, over-limit ones are rejected at both ends")
    func stringLimits() throws {
        var rng = SplitMix64(seed: testSeed("stringLimits", fixed: 0xC40F_0004))
        let units = ["a", "é", "€", "🎶"]
        for _ in 0 ..< 200 {
            let unit = units[Int(rng.next() % UInt64(units.count))]
            let count = WireLimits.maxStringBytes / unit.utf8.count + Int(rng.next() % 3) - 1
            let text = String(repeating: unit, count: count)
            let hello = Hello(cluster: "c", node: text, uid: .random(using: &rng), bindAddress: "h:1", software: "s")
            if text.utf8.count <= WireLimits.maxStringBytes {
                #expect(try WireCodec.decode(frame: WireCodec.encode(.hello(hello))) == .hello(hello))
            } else {
                #expect(wireError { try WireCodec.validate(.hello(hello)) }
                    == .malformed("string of \(text.utf8.count) bytes exceeds the limit of 1024 bytes"))
                // Forge the frame a careless peer would send: decode refuses it the same way.
                var payload = WireWriter()
                payload.writeString("c")
                payload.writeUInt16(UInt16(text.utf8.count))
                payload.writeRawBytes(text.utf8)
                let frame = craftFrame(type: MessageType.hello.rawValue, payload: payload.finish())
                #expect(wireError { try WireCodec.decode(frame: frame) }
                    == .malformed("string of \(text.utf8.count) bytes exceeds the limit of 1024 bytes"))
            }
        }
    }
}
