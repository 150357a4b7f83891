import ChorusCore
import ChorusSimulation

/// What test nodes send each other.
enum Note: Equatable, Hashable {
    case ping(Int)
    case pong(Int)
    case note(Int)
}

/// One thing a probe saw, in order.
enum Entry: Equatable {
    case received(Note, from: SimAddress, at: VirtualTime)
    case woke(at: VirtualTime)
    case failed(Note, peer: SimAddress, reason: DeliveryFailure, at: VirtualTime)
}

/// A tiny test node: records every input, answers pings with pongs (same transport), and, when
/// given peers and an interval, pings every peer every interval.
struct Probe: SimulatedNode {
    typealias Message = Note

    let me: SimAddress
    var peers: [SimAddress] = []
    var pingInterval: Duration?
    var transport: Transport = .datagram
    var log: [Entry] = []
    var pongs = 0
    var nextPing = 0

    init(_ me: SimAddress, peers: [SimAddress] = [], pingInterval: Duration? = nil, transport: Transport = .datagram) {
        self.me = me
        self.peers = peers
        self.pingInterval = pingInterval
        self.transport = transport
    }

    mutating func receive(_ message: Note, from sender: SimAddress, at now: VirtualTime, effects: inout Effects<Note>) {
        log.append(.received(message, from: sender, at: now))
        switch message {
        case let .ping(n): effects.send(.pong(n), to: sender, transport: transport)
        case .pong: pongs += 1
        case .note: break
        }
    }

    mutating func wake(at now: VirtualTime, effects: inout Effects<Note>) {
        log.append(.woke(at: now))
        guard let pingInterval else { return }
        for peer in peers {
            effects.send(.ping(nextPing), to: peer, transport: transport)
            nextPing += 1
        }
        effects.wake(after: pingInterval)
    }

    mutating func undeliverable(_ message: Note, to peer: SimAddress, reason: DeliveryFailure, at now: VirtualTime, effects: inout Effects<Note>) {
        log.append(.failed(message, peer: peer, reason: reason, at: now))
    }

    /// Messages received, with sender and time, in order.
    var received: [(note: Note, from: SimAddress, at: VirtualTime)] {
        log.compactMap { if case let .received(note, from, at) = $0 { (note, from, at) } else { nil } }
    }

    /// The numbers of the `.note`s received, in order.
    var notes: [Int] {
        log.compactMap { if case let .received(.note(n), _, _) = $0 { n } else { nil } }
    }

    var wakes: [VirtualTime] {
        log.compactMap { if case let .woke(at) = $0 { at } else { nil } }
    }

    var failures: [(note: Note, peer: SimAddress, reason: DeliveryFailure, at: VirtualTime)] {
        log.compactMap { if case let .failed(note, peer, reason, at) = $0 { (note, peer, reason, at) } else { nil } }
    }
}

/// A simulation of `count` probes that ping nobody on their own.
func probes(_ count: Int, seed: UInt64, link: LinkFaults = .none) -> (Simulation<Probe>, [SimAddress]) {
    let sim = Simulation<Probe>(seed: seed, defaultLink: link)
    let addresses = (0 ..< count).map { _ in sim.addNode { address, _ in Probe(address) } }
    return (sim, addresses)
}

extension Simulation where Node == Probe {
    /// Makes `from` send `.note(n)` for each `n` in `numbers` to `to`, now, in one local call.
    func sendNotes(_ numbers: some Sequence<Int>, from: SimAddress, to: SimAddress, transport: Transport = .datagram) {
        call(from) { _, effects in
            for n in numbers { effects.send(.note(n), to: to, transport: transport) }
        }
    }
}

/// A benchmark node: every `interval` it pings one random peer; it answers pings with pongs.
struct PingPong: SimulatedNode {
    typealias Message = UInt32

    var random: SimulationRandom
    let count: Int
    let interval: Duration
    var pongs = 0

    mutating func receive(_ message: UInt32, from sender: SimAddress, at now: VirtualTime, effects: inout Effects<UInt32>) {
        if message & 1 == 0 {
            effects.send(message | 1, to: sender)
        } else {
            pongs += 1
        }
    }

    var started = false

    mutating func wake(at now: VirtualTime, effects: inout Effects<UInt32>) {
        guard started else {
            // Spread the nodes' rounds over the interval.
            started = true
            effects.wake(after: .nanoseconds(Int64(random.next() % UInt64(interval.components.attoseconds / 1_000_000_000 + interval.components.seconds * 1_000_000_000))))
            return
        }
        let peer = Int(random.next() % UInt64(count))
        effects.send(UInt32(truncatingIfNeeded: random.next()) & ~1, to: SimAddress(index: peer))
        effects.wake(after: interval)
    }

    mutating func undeliverable(_ message: UInt32, to peer: SimAddress, reason: DeliveryFailure, at now: VirtualTime, effects: inout Effects<UInt32>) {}
}
