import ChorusCore
/// The simulator's engine: the clock, the event queue, the network and the nodes, in one struct so
/// that a whole run is one exclusive access (no per-field runtime exclusivity checks on the hot path).
/// `Simulation` is the public face; the rules are documented there.
///
/// Everything is `@inlinable` so that a test's `Simulation<MyNode>` is specialized for `MyNode` in the
/// test's own module: node calls are direct and messages are moved without generic witness calls.
@usableFromInline struct SimulationCore<Node: SimulatedNode> {
    @usableFromInline typealias Message = Node.Message

    /// The current virtual time in nanoseconds.
    @usableFromInline var clock: UInt64 = 0
    @usableFromInline var random: SimulationRandom
    @usableFromInline var queue = EventQueue()
    @usableFromInline var messages = InFlightMessages<Message>()
    @usableFromInline var nodes: [Node?] = []
    @usableFromInline var states: [NodeState] = []
    @usableFromInline var partitioned = false
    /// Directed (from, to) pairs whose messages are blocked.
    @usableFromInline var cuts: Set<UInt64> = []
    @usableFromInline var defaultLink: LinkModel
    /// Per directed pair overrides of `defaultLink`.
    @usableFromInline var links: [UInt64: LinkModel] = [:]
    /// Per directed pair, the arrival time of the last stream message, so a later one never overtakes it.
    @usableFromInline var streamTails: [UInt64: UInt64] = [:]
    /// Per directed (sender, receiver) pair, the time of the last failure report, so the failures of
    /// one stream are reported in send order.
    @usableFromInline var failureTails: [UInt64: UInt64] = [:]
    /// Size at which the tail tables are next pruned of entries already in the past.
    @usableFromInline var tailPruneThreshold = 4_096
    @usableFromInline var connectTimeout: UInt64
    @usableFromInline var processingCost: UInt64
    @usableFromInline var stats = SimulationStats()
    /// Reused for every input, so collecting effects does not allocate.
    @usableFromInline var effects = Effects<Message>(now: .zero, me: SimAddress(index: 0))
    @usableFromInline var digest: UInt64 = 0xCBF2_9CE4_8422_2325
    @usableFromInline var trace: ((SimulationTraceEvent) -> Void)?

    @inlinable init(seed: UInt64, defaultLink: LinkModel, connectTimeout: UInt64, processingCost: UInt64) {
        random = SimulationRandom(seed: seed)
        self.defaultLink = defaultLink
        self.connectTimeout = connectTimeout
        self.processingCost = processingCost
    }

    // MARK: Network rules

    @inlinable static func pair(_ from: Int32, _ to: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: from)) << 32 | UInt64(UInt32(bitPattern: to))
    }

    /// Whether `from`'s messages to `to` are blocked by the partition or a cut.
    @inlinable func isBlocked(_ from: Int32, _ to: Int32) -> Bool {
        if partitioned {
            let a = group(of: from)
            let b = group(of: to)
            if a >= 0 && b >= 0 && a != b { return true }
        }
        return !cuts.isEmpty && cuts.contains(Self.pair(from, to))
    }

    @inlinable func group(of index: Int32) -> Int32 {
        Int(index) < states.count ? states[Int(index)].partitionGroup : -1
    }

    /// Whether no process runs at `index`: crashed, or not added yet.
    @inlinable func isDown(_ index: Int) -> Bool {
        index >= states.count || states[index].crashed
    }

    @inlinable func generation(of index: Int32) -> UInt32 {
        Int(index) < states.count ? states[Int(index)].generation : 0
    }

    @inlinable func checkAddress(_ index: Int) {
        precondition(index >= 0 && index < states.count, "\(SimAddress(index: index)) is not a node of this simulation")
    }

    @inlinable func link(_ from: Int32, _ to: Int32) -> LinkModel {
        if links.isEmpty { return defaultLink }
        return links[Self.pair(from, to)] ?? defaultLink
    }

    @inlinable func cost(slowdown: Double) -> UInt64 {
        UInt64((Double(processingCost) * slowdown).rounded())
    }

    @inlinable mutating func mix(_ value: UInt64) {
        digest = (digest ^ value) &* 0x0000_0100_0000_01B3
        digest ^= digest >> 29
    }

    // MARK: Nodes

    /// Installs `node` at the next address and starts it.
    @inlinable mutating func add(_ node: Node) -> Int {
        let index = nodes.count
        precondition(index < Int(Int32.max), "too many nodes")
        nodes.append(node)
        states.append(NodeState(cost: processingCost))
        start(index)
        return index
    }

    /// Installs `node` at a crashed address and starts it.
    @inlinable mutating func revive(_ index: Int, _ node: Node) {
        precondition(states[index].crashed)
        nodes[index] = node
        states[index].crashed = false
        states[index].busyUntil = clock
        start(index)
    }

    /// Starts a node with one `wake(at: now)`.
    @inlinable mutating func start(_ index: Int) {
        process(Event(time: clock, kind: .wake, target: Int32(index), targetGeneration: states[index].generation))
    }

    @inlinable mutating func crash(_ index: Int) {
        checkAddress(index)
        guard !states[index].crashed else { return }
        nodes[index] = nil
        states[index].crashed = true
        states[index].generation &+= 1
        states[index].paused = false
        states[index].wakesDueWhilePaused = 0
        states[index].readyQueued = false
        states[index].busyUntil = clock
        // Inputs the process had received but not yet handled die with it.
        for event in states[index].inbox.drain() {
            switch event.kind {
            case .datagram:
                messages.discard(event.slot)
                stats.datagramsDropped += 1
            case .reliable:
                refuse(event)
            case .refused, .timedOut:
                messages.discard(event.slot)
            case .wake, .ready:
                break
            }
        }
    }

    @inlinable mutating func pause(_ index: Int) {
        checkAddress(index)
        guard !states[index].crashed else { return }
        states[index].paused = true
    }

    @inlinable mutating func resume(_ index: Int) {
        checkAddress(index)
        guard states[index].paused else { return }
        states[index].paused = false
        let generation = states[index].generation
        for _ in 0 ..< states[index].wakesDueWhilePaused {
            states[index].inbox.append(Event(time: clock, kind: .wake, target: Int32(index), targetGeneration: generation))
        }
        states[index].wakesDueWhilePaused = 0
        if !states[index].inbox.isEmpty { queueReady(index) }
    }

    @inlinable mutating func setSlowdown(_ index: Int, _ factor: Double) {
        checkAddress(index)
        precondition(factor > 0 && factor.isFinite, "slowdown factor must be positive, not \(factor)")
        states[index].slowdown = factor
        states[index].cost = cost(slowdown: factor)
    }

    @inlinable mutating func setProcessingCost(_ nanos: UInt64) {
        processingCost = nanos
        for index in states.indices { states[index].cost = cost(slowdown: states[index].slowdown) }
    }

    @inlinable mutating func partition(_ groups: [[SimAddress]]) {
        for index in states.indices { states[index].partitionGroup = -1 }
        for (group, members) in groups.enumerated() {
            for member in members {
                checkAddress(member.index)
                precondition(states[member.index].partitionGroup < 0, "\(member) is in two partition groups")
                states[member.index].partitionGroup = Int32(group)
            }
        }
        partitioned = true
    }

    @inlinable mutating func heal() {
        partitioned = false
        for index in states.indices { states[index].partitionGroup = -1 }
        cuts.removeAll()
    }

    // MARK: Running

    /// Handles every event up to and including `limit`, then sets the clock to `limit`.
    @inlinable mutating func run(until limit: UInt64) {
        while let next = queue.nextTime, next <= limit { step() }
        if clock < limit { clock = limit }
    }

    /// Handles the next event if it is due by `limit`; false when there is none.
    @inlinable mutating func step(until limit: UInt64) -> Bool {
        guard let next = queue.nextTime, next <= limit else { return false }
        step()
        return true
    }

    @inlinable mutating func advance(to limit: UInt64) {
        if clock < limit { clock = limit }
    }

    @inlinable mutating func step() {
        let event = queue.pop()
        clock = event.time
        stats.events += 1
        let index = Int(event.target)
        switch event.kind {
        case .datagram:
            if isDown(index) || isBlocked(event.peer, event.target) {
                messages.discard(event.slot)
                stats.datagramsDropped += 1
                return
            }
            input(event)
        case .reliable:
            if isBlocked(event.peer, event.target) || isBlocked(event.target, event.peer) {
                fail(event, .timedOut, at: clock + connectTimeout)
                return
            }
            if isDown(index) || states[index].generation != event.targetGeneration {
                refuse(event)
                return
            }
            input(event)
        case .refused, .timedOut:
            if states[index].crashed || states[index].generation != event.targetGeneration {
                messages.discard(event.slot)
                return
            }
            input(event)
        case .wake:
            if states[index].crashed || states[index].generation != event.targetGeneration { return }
            input(event)
        case .ready:
            ready(event)
        }
    }

    /// An input reached a live node: it runs now, or waits in the inbox while the node is busy or paused.
    @inlinable mutating func input(_ event: Event) {
        let index = Int(event.target)
        if states[index].paused {
            if event.kind == .wake {
                states[index].wakesDueWhilePaused += 1
            } else {
                states[index].inbox.append(event)
            }
            return
        }
        if states[index].busyUntil > clock || !states[index].inbox.isEmpty {
            states[index].inbox.append(event)
            queueReady(index)
            return
        }
        process(event)
    }

    @inlinable mutating func queueReady(_ index: Int) {
        guard !states[index].readyQueued else { return }
        states[index].readyQueued = true
        queue.push(Event(
            time: max(states[index].busyUntil, clock), kind: .ready, target: Int32(index),
            targetGeneration: states[index].generation))
    }

    /// The node finished its previous input: it takes the next one from its inbox.
    @inlinable mutating func ready(_ event: Event) {
        let index = Int(event.target)
        guard states[index].generation == event.targetGeneration else { return }
        states[index].readyQueued = false
        if states[index].paused || states[index].crashed { return }
        if states[index].busyUntil > clock {
            queueReady(index)
            return
        }
        guard let next = states[index].inbox.popFirst() else { return }
        process(next)
        if !states[index].inbox.isEmpty { queueReady(index) }
    }

    /// Calls the node with one input at the current time; its sends leave when the input's cost is paid.
    @inlinable mutating func process(_ event: Event) {
        let index = Int(event.target)
        let finish = clock + states[index].cost
        states[index].busyUntil = finish
        let now = VirtualTime(nanos: clock)
        effects.reset(now: now, me: SimAddress(index: index))
        stats.inputs += 1
        mix(clock)
        mix(UInt64(event.kind.rawValue) << 40 | UInt64(UInt32(bitPattern: event.target)) << 8 | UInt64(UInt8(truncatingIfNeeded: event.peer)))
        mix(UInt64(UInt32(bitPattern: event.peer)))
        let peer = SimAddress(index: Int(event.peer))
        switch event.kind {
        case .datagram, .reliable:
            let transport: Transport = event.kind == .datagram ? .datagram : .reliable
            if transport == .datagram { stats.datagramsDelivered += 1 } else { stats.reliableDelivered += 1 }
            let message = messages.take(event.slot)
            if let trace { trace(SimulationTraceEvent(time: now, node: SimAddress(index: index), input: .receive(from: peer, transport: transport))) }
            nodes[index]!.receive(message, from: peer, at: now, effects: &effects)
        case .wake:
            stats.wakeUps += 1
            if let trace { trace(SimulationTraceEvent(time: now, node: SimAddress(index: index), input: .wake)) }
            nodes[index]!.wake(at: now, effects: &effects)
        case .refused, .timedOut:
            let reason: DeliveryFailure = event.kind == .refused ? .refused : .timedOut
            let message = messages.take(event.slot)
            if let trace { trace(SimulationTraceEvent(time: now, node: SimAddress(index: index), input: .undeliverable(to: peer, reason: reason))) }
            nodes[index]!.undeliverable(message, to: peer, reason: reason, at: now, effects: &effects)
        case .ready:
            preconditionFailure("a ready event is not an input")
        }
        applyEffects(from: Int32(index), departure: finish)
    }

    // MARK: Carrying out effects

    /// Carries out effects collected outside the engine (a local call), leaving now.
    @inlinable mutating func apply(_ external: inout Effects<Message>, from sender: Int32) {
        swap(&effects, &external)
        applyEffects(from: sender, departure: clock)
        swap(&effects, &external)
    }

    /// Sends what `effects` asked for, leaving at `departure`, and queues its wake-ups.
    @inlinable mutating func applyEffects(from sender: Int32, departure: UInt64) {
        let sendCount = effects.pendingSends.count
        var position = 0
        while position < sendCount {
            let send = effects.pendingSends[position]
            position += 1
            let to = send.to.index
            precondition(to >= 0 && to < Int(Int32.max), "\(SimAddress(index: Int(sender))) sent to \(send.to), which cannot exist")
            switch send.transport {
            case .datagram: sendDatagram(send.message, from: sender, to: Int32(to), at: departure)
            case .reliable: sendStream(send.message, from: sender, to: Int32(to), at: departure)
            }
        }
        let wakeCount = effects.pendingWakes.count
        if wakeCount == 0 { return }
        let generation = states[Int(sender)].generation
        for position in 0 ..< wakeCount {
            let time = effects.pendingWakes[position]
            queue.push(Event(time: max(time.nanos, clock), kind: .wake, target: sender, targetGeneration: generation))
        }
    }

    @inlinable mutating func sendDatagram(_ message: Message, from: Int32, to: Int32, at departure: UInt64) {
        stats.datagramsSent += 1
        if isBlocked(from, to) {
            stats.datagramsDropped += 1
            return
        }
        let model = link(from, to)
        if random.chance(model.loss) {
            stats.datagramsDropped += 1
            return
        }
        let duplicate = random.chance(model.duplication)
        queue.push(Event(
            time: departure + model.datagramDelay(&random), kind: .datagram, target: to, peer: from,
            slot: messages.insert(message), targetGeneration: generation(of: to)))
        if duplicate {
            stats.datagramsDuplicated += 1
            queue.push(Event(
                time: departure + model.datagramDelay(&random), kind: .datagram, target: to, peer: from,
                slot: messages.insert(message), targetGeneration: generation(of: to)))
        }
    }

    @inlinable mutating func sendStream(_ message: Message, from: Int32, to: Int32, at departure: UInt64) {
        stats.reliableSent += 1
        let senderGeneration = states[Int(from)].generation
        // A stream needs both directions: a cut either way stalls it until the connect timeout.
        if isBlocked(from, to) || isBlocked(to, from) {
            let event = Event(
                time: departure, kind: .reliable, target: to, peer: from, slot: messages.insert(message),
                targetGeneration: 0, peerGeneration: senderGeneration)
            fail(event, .timedOut, at: departure + connectTimeout)
            return
        }
        var arrival = departure + link(from, to).streamDelay(&random)
        Self.keepOrder(&streamTails[Self.pair(from, to), default: 0], &arrival)
        if streamTails.count > tailPruneThreshold { pruneTails() }
        queue.push(Event(
            time: arrival, kind: .reliable, target: to, peer: from, slot: messages.insert(message),
            targetGeneration: generation(of: to), peerGeneration: senderGeneration))
    }

    /// Drops tails already in the past: anything sent from now on arrives after them anyway, so they
    /// no longer constrain the order (and pruning cannot change a run).
    @inlinable mutating func pruneTails() {
        let now = clock
        streamTails = streamTails.filter { $0.value > now }
        failureTails = failureTails.filter { $0.value > now }
        tailPruneThreshold = max(4_096, 2 * max(streamTails.count, failureTails.count))
    }

    @inlinable static func keepOrder(_ tail: inout UInt64, _ arrival: inout UInt64) {
        if tail > arrival { arrival = tail } else { tail = arrival }
    }

    /// A stream message reached a dead receiver (`event.target`): the reset goes back to the sender
    /// after the reverse link's delay, or, if the way back is blocked, the sender times out.
    @inlinable mutating func refuse(_ event: Event) {
        if isBlocked(event.target, event.peer) {
            fail(event, .timedOut, at: clock + connectTimeout)
        } else {
            fail(event, .refused, at: clock + link(event.target, event.peer).streamDelay(&random))
        }
    }

    /// Reports the stream message of `event` (from `event.peer` to `event.target`) as undeliverable.
    @inlinable mutating func fail(_ event: Event, _ reason: DeliveryFailure, at time: UInt64) {
        if reason == .refused { stats.reliableRefused += 1 } else { stats.reliableTimedOut += 1 }
        var time = time
        Self.keepOrder(&failureTails[Self.pair(event.peer, event.target), default: 0], &time)
        if failureTails.count > tailPruneThreshold { pruneTails() }
        queue.push(Event(
            time: time, kind: reason == .refused ? .refused : .timedOut, target: event.peer, peer: event.target,
            slot: event.slot, targetGeneration: event.peerGeneration))
    }
}
