import ChorusTestSupport
import Testing
@testable import ChorusWire

@Suite("Membership messages")
struct MembershipMessageTests {
    @Test("a later generation is newer; at equal generations the larger uid wins")
    func identityOrder() {
        let old = MemberID(name: "n1", uid: NodeUID(rawValue: 9), generation: 100)
        let restarted = MemberID(name: "n1", uid: NodeUID(rawValue: 1), generation: 200)
        #expect(restarted.isNewer(than: old))
        #expect(!old.isNewer(than: restarted))
        let twin = MemberID(name: "n1", uid: NodeUID(rawValue: 10), generation: 100)
        #expect(twin.isNewer(than: old))
        #expect(!old.isNewer(than: old))
    }

    @Test("a gossip item's encoded size is what it takes in a packet")
    func encodedSize() {
        let item = sampleGossip("n1", .alive, meta: [1, 2, 3])
        #expect(item.encodedSize == item.encoded().count)
        let withoutMeta = sampleGossip("n1", .alive, meta: nil)
        #expect(withoutMeta.encodedSize == item.encodedSize - 7, "meta costs a 4-byte length and its bytes")
    }

    @Test("a packet's computed size equals its encoding, for every sample", arguments: sampleMessages)
    func packetSize(message: Message) {
        if case let .membership(packet) = message {
            #expect(packet.encodedSize == packet.encoded().count)
            for item in packet.gossip { #expect(item.encodedSize == item.encoded().count) }
        }
    }

    @Test("metadata over 4 KiB, names over 255 bytes and more than 64 gossip items are refused")
    func limits() {
        var item = sampleGossip("n1", .alive, meta: Array(repeating: 0, count: WireLimits.maxMemberMeta + 1))
        #expect(wireError { try item.validate() } != nil)
        item.meta = []
        item.member.name = String(repeating: "n", count: 256)
        #expect(wireError { try item.validate() } != nil)
        let packet = MembershipPacket(sender: sampleMember("a"), senderAddress: "h:1", probe: .none,
                                      gossip: Array(repeating: sampleGossip("b", .alive, meta: nil), count: 65))
        #expect(wireError { try packet.validate() } != nil)
    }

    @Test("an unknown status or probe kind is malformed, not a crash")
    func badEnums() throws {
        var bytes = sampleGossip("n1", .alive, meta: nil).encoded()
        // name (2-byte length + "n1"), uid, generation, address (2-byte length + text), then the status byte.
        let statusOffset = 2 + 2 + 8 + 8 + 2 + "127.0.0.1:7200".utf8.count
        bytes[statusOffset] = 9
        #expect(wireError { try MemberGossip(decoding: bytes) } != nil)
        var packet = MembershipPacket(sender: sampleMember("a"), senderAddress: "h:1", probe: .none, gossip: []).encoded()
        // sender (2 + "a" + uid + generation), sender address (2 + "h:1"), then the probe kind.
        packet[2 + 1 + 8 + 8 + 2 + 3] = 0
        #expect(wireError { try MembershipPacket(decoding: packet) } != nil)
    }
}
