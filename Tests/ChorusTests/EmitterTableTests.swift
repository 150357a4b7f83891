@testable import Chorus
import ChorusWire
import Testing

/// The table broadcasts look their emitter group up in.
struct EmitterTableTests {
    static func route(_ store: String, _ subscription: String, serial: UInt64) -> EmitterTable.Route {
        EmitterTable.Route(store: store, subscription: subscription,
                           members: [GroupMemberID(node: NodeUID(rawValue: 1), serial: serial)], endpoints: [nil])
    }

    @Test("given 300 subscriptions, some with names that move bytes between store and subscription, every lookup in any order finds its own route, and unknown ones find none")
    func lookups() {
        var routes: [EmitterTable.Route] = []
        var serial: UInt64 = 0
        for store in ["orders", "order", "o", "ordersx", "a-store-name-longer-than-sixteen-bytes"] {
            for k in 0..<60 {
                serial += 1
                routes.append(Self.route(store, k == 0 ? "s" : "sub\(k)", serial: serial))
            }
        }
        routes.append(Self.route("ab", "c", serial: 1000))
        routes.append(Self.route("a", "bc", serial: 1001))
        let table = EmitterTable(routes, basis: 0x1234_5678)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<3 {
            for route in routes.shuffled(using: &generator) {
                // The same lookup twice: the second is served by the remembered slot.
                #expect(table.route(store: route.store, subscription: route.subscription) === route)
                #expect(table.route(store: route.store, subscription: route.subscription) === route)
            }
        }
        #expect(table.route(store: "orders", subscription: "nope") == nil)
        #expect(table.route(store: "abc", subscription: "") == nil)
        #expect(EmitterTable([], basis: 7).route(store: "orders", subscription: "s") == nil)
    }
}
