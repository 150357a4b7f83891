import ChorusCore
import ChorusMembership
import ChorusSimulation
import ChorusWire

/// A SWIM instance driven by the simulator: the same core as production, with the simulator's
/// network instead of libuv sockets. Addresses are `"s<index>"`.
public struct SimulatedMember: SimulatedNode {
    public enum Message: Sendable {
        case packet(MembershipPacket, overStream: Bool)
        case sync(MembershipSync)
    }

    public var instance: SWIMInstance
    /// Every event this member reported, in order.
    public var events: [MembershipEvent] = []
    private var scheduledWake: VirtualTime?

    public static func address(_ simAddress: SimAddress) -> String { "s\(simAddress.index)" }
    public static func simAddress(_ address: String) -> SimAddress? {
        address.hasPrefix("s") ? Int(address.dropFirst()).map { SimAddress(index: $0) } : nil
    }

    /// A member named `n<index>` whose generation is the time it started (restarts are newer).
    public init(at simAddress: SimAddress, settings: SWIMSettings, random: inout SimulationRandom, now: VirtualTime) {
        let id = MemberID(name: "n\(simAddress.index)", uid: NodeUID(rawValue: random.next()), generation: now.nanos)
        instance = SWIMInstance(me: id, address: Self.address(simAddress), settings: settings,
                                random: ProtocolRandom(seed: random.next()), now: now)
    }

    public mutating func receive(_ message: Message, from sender: SimAddress, at now: VirtualTime, effects: inout Effects<Message>) {
        receive(message, from: sender, at: now, effects: &effects) { $0 }
    }

    public mutating func wake(at now: VirtualTime, effects: inout Effects<Message>) {
        wake(at: now, effects: &effects) { $0 }
    }

    public mutating func undeliverable(_ message: Message, to peer: SimAddress, reason: DeliveryFailure, at now: VirtualTime,
                                effects: inout Effects<Message>) {
        undeliverable(to: peer, reason: reason, at: now, effects: &effects) { $0 }
    }

    // A node that runs more than membership (groups, say) carries this member inside it and
    // passes its own effects, with `wrap` turning membership messages into its own.

    /// A membership message arrived.
    public mutating func receive<Outer>(_ message: Message, from sender: SimAddress, at now: VirtualTime,
                                        effects: inout Effects<Outer>, wrap: (Message) -> Outer) {
        switch message {
        case let .packet(packet, overStream):
            perform(instance.receive(packet, from: Self.address(sender), overStream: overStream, now: now), &effects, wrap: wrap)
        case .sync(let sync): perform(instance.receive(sync, from: Self.address(sender), now: now), &effects, wrap: wrap)
        }
    }

    /// A wake-up came due: the core's timers run.
    public mutating func wake<Outer>(at now: VirtualTime, effects: inout Effects<Outer>, wrap: (Message) -> Outer) {
        if let scheduled = scheduledWake, now >= scheduled { scheduledWake = nil }
        perform(instance.tick(now: now), &effects, wrap: wrap)
    }

    /// A membership stream message did not reach `peer`.
    public mutating func undeliverable<Outer>(to peer: SimAddress, reason: DeliveryFailure, at now: VirtualTime,
                                              effects: inout Effects<Outer>, wrap: (Message) -> Outer) {
        perform(instance.undeliverable(to: Self.address(peer), refused: reason == .refused, now: now), &effects, wrap: wrap)
    }

    /// Carries out directives, then asks to be woken at the core's next deadline (once).
    public mutating func perform(_ directives: [SWIMDirective], _ effects: inout Effects<Message>) {
        perform(directives, &effects) { $0 }
    }

    /// Carries out directives, then asks to be woken at the core's next deadline (once).
    public mutating func perform<Outer>(_ directives: [SWIMDirective], _ effects: inout Effects<Outer>, wrap: (Message) -> Outer) {
        for directive in directives {
            switch directive {
            case let .send(packet, to, reliable):
                if let target = Self.simAddress(to) {
                    effects.send(wrap(.packet(packet, overStream: reliable)), to: target, transport: reliable ? .reliable : .datagram)
                }
            case let .sync(sync, to):
                if let target = Self.simAddress(to) { effects.send(wrap(.sync(sync)), to: target, transport: .reliable) }
            case let .event(event):
                events.append(event)
            }
        }
        let deadline = instance.nextDeadline
        if scheduledWake.map({ deadline < $0 }) ?? true {
            scheduledWake = deadline
            effects.wake(at: deadline)
        }
    }
}

/// A simulated cluster of SWIM members and the questions tests ask of it.
public final class SimulatedCluster {
    public let simulation: Simulation<SimulatedMember>
    public let settings: SWIMSettings

    public init(seed: UInt64, size: Int, settings: SWIMSettings = .lan, link: LinkFaults = .none) {
        self.settings = settings
        simulation = Simulation(seed: seed, defaultLink: link)
        for _ in 0..<size { add() }
        // Everyone joins through the first member.
        for address in simulation.addresses.dropFirst() { join(address, seeds: [simulation.addresses[0]]) }
    }

    @discardableResult
    public func add() -> SimAddress {
        let settings = self.settings, now = simulation.now
        return simulation.addNode { address, random in
            SimulatedMember(at: address, settings: settings, random: &random, now: now)
        }
    }

    public func join(_ address: SimAddress, seeds: [SimAddress]) {
        simulation.call(address) { node, effects in
            let directives = node.instance.join(seeds: seeds.map(SimulatedMember.address), now: effects.now)
            node.perform(directives, &effects)
        }
    }

    public func restart(_ address: SimAddress, seeds: [SimAddress]) {
        let settings = self.settings
        let now = simulation.now
        simulation.restart(address) { address, random in
            SimulatedMember(at: address, settings: settings, random: &random, now: now)
        }
        join(address, seeds: seeds)
    }

    /// Each live member's view: name -> status.
    public func views(of addresses: [SimAddress]? = nil) -> [SimAddress: [String: MemberStatus]] {
        var result: [SimAddress: [String: MemberStatus]] = [:]
        for address in addresses ?? simulation.addresses {
            guard let node = simulation.node(address) else { continue }
            var view = node.instance.members.mapValues(\.state.status)
            view[node.instance.me.name] = .alive
            result[address] = view
        }
        return result
    }

    /// Whether every listed member sees exactly `expected` (names) alive and nothing else active.
    public func allSee(alive expected: Set<String>, among addresses: [SimAddress]? = nil) -> Bool {
        for address in addresses ?? simulation.addresses {
            guard let node = simulation.node(address) else { continue }
            var alive = expected.contains(node.instance.me.name) ? 1 : 0
            for member in node.instance.members.values {
                switch member.state.status {
                case .alive:
                    guard expected.contains(member.id.name) else { return false }
                    alive += 1
                case .suspect: return false
                case .dead, .left: continue
                }
            }
            if alive != expected.count { return false }
        }
        return true
    }

    /// Dead declarations each member made about others (its events), by name.
    public func deadDeclarations(excluding names: Set<String> = []) -> [String] {
        simulation.addresses.compactMap { simulation.node($0) }.flatMap { node in
            node.events.compactMap { event -> String? in
                if case .dead(let member) = event, !names.contains(member.id.name) { return member.id.name }
                return nil
            }
        }
    }

    /// Runs until `condition` holds, checking it every `every` of virtual time (checking a
    /// thousand views after every event would cost more than the run), or `timeout` passes.
    @discardableResult
    public func run(until condition: () -> Bool, timeout: Duration, every: Duration = .milliseconds(100)) -> Bool {
        let deadline = simulation.now + timeout
        while !condition() {
            guard simulation.now < deadline else { return false }
            simulation.run(until: min(simulation.now + every, deadline))
        }
        return true
    }

    public func name(_ address: SimAddress) -> String { "n\(address.index)" }
    public var allNames: Set<String> { Set(simulation.addresses.map(name)) }
}
