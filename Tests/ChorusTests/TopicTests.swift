import Chorus
import ChorusLoop
import ChorusTestSupport
import Synchronization
import Testing

/// Topic publish (Phoenix.PubSub's shape) on Chorus nodes in this process.
@Suite("Topic publish", .serialized, .timeLimit(.minutes(1)))
struct TopicTests {
    static let eventually = MembershipAPITests.eventually

    /// The published payloads a member got, in order, as (publisher tag, number).
    static func drain(_ member: GroupMember, count: Int) async -> [[UInt8]] {
        var got: [[UInt8]] = []
        for await message in member.messages {
            if let payload = message.payload { got.append(payload) }
            if got.count == count { break }
        }
        return got
    }

    @Test("given subscribers on three nodes, one subscribed twice, a publish reaches each once and goes to each node with subscribers")
    func reachesEverySubscriber() async throws {
        let nodes = try await GroupsAPITests.cluster(3)
        let (a, b, c) = (nodes[0], nodes[1], nodes[2])
        let onA = try await a.subscribe("orders:$all")
        let onB1 = try await b.subscribe("orders:$all"), onB2 = try await b.subscribe("orders:$all")
        let onC = try await c.subscribe("orders:$all")
        try await c.subscribe("orders:$all", onC)
        #expect(await Self.eventually(.seconds(5)) { await a.subscribers("orders:$all").count == 5 })
        // When
        let reached = try a.publish("orders:$all", [1, 2, 3])
        // Then
        #expect(reached == 3)
        for member in [onA, onB1, onB2, onC] {
            var mailbox = member.messages.makeAsyncIterator()
            let message = await mailbox.next()
            #expect(message?.content == .published(topic: "orders:$all", payload: [1, 2, 3]))
        }
        try a.publish("orders:$all", [9])
        var second = onC.messages.makeAsyncIterator()
        #expect(await second.next()?.payload == [9], "the member subscribed twice got the first message once")
        #expect(try a.publish("nobody", [0]) == 0)
        for node in nodes.reversed() { await node.stop() }
    }

    @Test("given two publishers on two nodes publishing at once, each subscriber sees each publisher's messages in order")
    func perPublisherOrder() async throws {
        let nodes = try await GroupsAPITests.cluster(3)
        let (a, b, c) = (nodes[0], nodes[1], nodes[2])
        let subscribers = [try await a.subscribe("t"), try await c.subscribe("t")]
        #expect(await Self.eventually(.seconds(5)) {
            let onA = await a.subscribers("t").count, onB = await b.subscribers("t").count
            return onA == 2 && onB == 2
        })
        let perPublisher = 5_000
        // When
        async let fromA: Void = Task.detached {
            for k in 0..<perPublisher { _ = try? a.publish("t", [0, UInt8(k >> 8), UInt8(k & 0xFF)]) }
        }.value
        async let fromB: Void = Task.detached {
            for k in 0..<perPublisher { _ = try? b.publish("t", [1, UInt8(k >> 8), UInt8(k & 0xFF)]) }
        }.value
        _ = await (fromA, fromB)
        // Then
        for subscriber in subscribers {
            let got = await Self.drain(subscriber, count: 2 * perPublisher)
            for publisher in [UInt8(0), 1] {
                let numbers = got.filter { $0[0] == publisher }.map { Int($0[1]) << 8 | Int($0[2]) }
                #expect(numbers == Array(0..<perPublisher), "publisher \(publisher) seen in order by \(subscriber.id)")
            }
        }
        for node in nodes.reversed() { await node.stop() }
    }

    @Test("given a subscriber that unsubscribes or ends, publishes stop reaching it")
    func unsubscribe() async throws {
        let nodes = try await GroupsAPITests.cluster(2)
        let (a, b) = (nodes[0], nodes[1])
        let member = try await b.subscribe("t")
        #expect(await Self.eventually(.seconds(5)) { await a.subscribers("t") == [member.id] })
        try await b.unsubscribe("t", member)
        #expect(await Self.eventually(.seconds(5)) { await a.subscribers("t") == [] })
        #expect(try a.publish("t", [1]) == 0)
        await #expect(throws: GroupsError.notJoined) { try await b.unsubscribe("t", member) }
        for node in nodes.reversed() { await node.stop() }
    }
}
