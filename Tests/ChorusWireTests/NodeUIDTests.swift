import ChorusTestSupport
import Testing
@testable import ChorusWire

@Suite struct NodeUIDTests {
    @Test("a uid prints as 16 lowercase hex digits, zero padded")
    func description() {
        #expect(NodeUID(rawValue: 0).description == "0000000000000000")
        #expect(NodeUID(rawValue: 0xAB).description == "00000000000000ab")
        #expect(NodeUID(rawValue: .max).description == "ffffffffffffffff")
    }

    @Test("given its description, init(hex:) gives the uid back; anything but 16 hex digits is refused")
    func hexParsing() {
        let uid = NodeUID(rawValue: 0x0123_4567_89AB_CDEF)
        #expect(NodeUID(hex: uid.description) == uid)
        #expect(NodeUID(hex: "0123456789ABCDEF") == uid)
        for bad in ["", "0123456789abcde", "0123456789abcdef0", "+123456789abcdef", "0123456789abcdeg", "-123456789abcdef"] {
            #expect(NodeUID(hex: bad) == nil)
        }
    }

    @Test("random uids differ; a seeded generator gives reproducible ones")
    func random() {
        #expect(NodeUID.random() != NodeUID.random())
        var a = SplitMix64(seed: 7)
        var b = SplitMix64(seed: 7)
        #expect(NodeUID.random(using: &a) == NodeUID.random(using: &b))
    }
}
