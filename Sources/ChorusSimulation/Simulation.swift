import ChorusCore
/// A deterministic simulator that runs pure protocol nodes (`SimulatedNode`) over a simulated network
/// on a virtual clock: thousands of nodes in one process, with loss, delay, duplication, reordering,
/// partitions, crashes, pauses and slow members, every run replayable from its seed.
///
/// **Determinism.** Everything happens through a single event queue ordered by (virtual time,
/// sequence number assigned at insertion), and every random choice comes from one `SimulationRandom`
/// seeded with `seed` (nodes get generators derived from it when added or restarted). Same seed and
/// same calls give the identical run; `traceDigest` sums it up. There are no threads, no wall clock and
/// no system randomness.
///
/// **Time.** The clock moves only in `run`; a node sees the clock's time when it handles an input.
/// Each input costs the node `processingCost * slowdown` of its own time: its sends leave when that is
/// paid, and further inputs wait for it in arrival order (see `setSlowdown`).
///
/// **Network.** A datagram is subject to its link's `LinkFaults` and is dropped when the link is
/// blocked (partition or cut) at send or at arrival, or when the receiver is crashed on arrival.
/// A stream (`.reliable`) message takes the link's delay only and keeps its order per (sender,
/// receiver) pair; it ends either in the receiver's `receive` or in the sender's `undeliverable`
/// (unless the sender itself crashed meanwhile): `.timedOut` `connectTimeout` after it was sent through
/// a blocked link (either direction, as a stream needs both) or after it met a partition in flight;
/// `.refused` one reverse link delay after it reached a crashed receiver, a restarted one (the
/// connection belonged to the old process), or one that crashed before handling it. The failures of
/// one (sender, receiver) stream are reported in send order. An address not added yet behaves like a
/// crashed node (a node may know its peers' addresses before they start).
///
/// **Re-entrancy.** Closures given to the simulation (`addNode`'s `make`, `withNode`, `call`, the
/// condition of `run(until:timeout:)`) may read it and change its faults, but must not run it (the
/// node being made or called is out of the simulation meanwhile). `trace` is called in the middle of
/// an event and must not touch the simulation at all.
public final class Simulation<Node: SimulatedNode> {
    /// The seed the run's random source started from; a run replays from it.
    public let seed: UInt64
    /// The fault settings of every link without its own (`setLink`).
    public private(set) var defaultLink: LinkFaults
    @usableFromInline var core: SimulationCore<Node>

    /// A simulation at time zero with no nodes. Datagrams see `defaultLink`'s faults unless a link has
    /// its own; a stream message through a blocked link fails after `connectTimeout`.
    public init(seed: UInt64, defaultLink: LinkFaults = .none, connectTimeout: Duration = .seconds(1)) {
        self.seed = seed
        self.defaultLink = defaultLink
        core = SimulationCore(
            seed: seed, defaultLink: LinkModel(defaultLink),
            connectTimeout: connectTimeout.simulationNanosNonNegative("connectTimeout"),
            processingCost: 20_000)
    }

    /// The current virtual time.
    @inlinable public var now: VirtualTime { VirtualTime(nanos: core.clock) }

    /// Every address handed out so far, crashed nodes included, in order.
    @inlinable public var addresses: [SimAddress] { (0 ..< core.nodes.count).map(SimAddress.init(index:)) }

    /// What the run has done so far.
    @inlinable public var stats: SimulationStats { core.stats }

    /// Events waiting in the queue (messages in flight, wake-ups, bookkeeping).
    @inlinable public var pendingEvents: Int { core.queue.count }

    /// A digest of every input every node has handled so far (time, node, kind, peer): equal digests
    /// mean, for all practical purposes, identical runs.
    @inlinable public var traceDigest: UInt64 { core.digest }

    /// Called with every input a node handles, just before the node sees it (for debugging and trace
    /// comparisons). It runs in the middle of an event: it must not call into the simulation.
    @inlinable public var trace: ((SimulationTraceEvent) -> Void)? {
        get { core.trace }
        set { core.trace = newValue }
    }

    /// The virtual time one input costs a node at slowdown 1 (default 20µs). Changing it applies to
    /// every node, scaled by its slowdown, from its next input on.
    @inlinable public var processingCost: Duration {
        get { .nanoseconds(Int64(core.processingCost)) }
        set { core.setProcessingCost(newValue.simulationNanosNonNegative("processingCost")) }
    }

    /// How long a stream message through a blocked link takes to fail with `.timedOut`.
    @inlinable public var connectTimeout: Duration {
        get { .nanoseconds(Int64(core.connectTimeout)) }
        set { core.connectTimeout = newValue.simulationNanosNonNegative("connectTimeout") }
    }

    // MARK: Nodes

    /// Adds a node built by `make` (given its address and a generator seeded from the simulation's) and
    /// starts it by calling `wake(at: now)` once, right away. Returns its address.
    @inlinable @discardableResult
    public func addNode(_ make: (SimAddress, inout SimulationRandom) -> Node) -> SimAddress {
        let address = SimAddress(index: core.nodes.count)
        var random = SimulationRandom(seed: core.random.next())
        let node = make(address, &random)
        let index = core.add(node)
        precondition(index == address.index, "a node was added while another was being made")
        return address
    }

    /// The node at `address` (a copy, for a value type), or nil while it is crashed.
    @inlinable public func node(_ address: SimAddress) -> Node? {
        core.nodes.indices.contains(address.index) ? core.nodes[address.index] : nil
    }

    /// Runs `body` on the node at `address` in place (to inspect or change it, without effects); nil
    /// while it is crashed. During `body` the node is out of the simulation (`node(address)` is nil),
    /// so `body` must not run the simulation.
    @inlinable public func withNode<R>(_ address: SimAddress, _ body: (inout Node) -> R) -> R? {
        let index = address.index
        guard core.nodes.indices.contains(index), var node = core.nodes[index].take() else { return nil }
        let generation = core.states[index].generation
        let result = body(&node)
        if core.states[index].generation == generation { core.nodes[index] = node }
        return result
    }

    /// A local call into a node (e.g. "leave the cluster") at the current time, outside its input
    /// queue: it runs at once even if the node is busy or paused and costs no processing time. Its sends
    /// leave now; its wake-ups are queued. Does nothing while the node is crashed. As with `withNode`,
    /// `body` must not run the simulation.
    @inlinable public func call(_ address: SimAddress, _ body: (inout Node, inout Effects<Node.Message>) -> Void) {
        let index = address.index
        guard core.nodes.indices.contains(index), var node = core.nodes[index].take() else { return }
        let generation = core.states[index].generation
        var effects = Effects<Node.Message>(now: now, me: address)
        body(&node, &effects)
        guard core.states[index].generation == generation else { return }  // crashed during the call
        core.nodes[index] = node
        core.apply(&effects, from: Int32(index))
    }

    // MARK: Faults

    /// Gives the directed link `from` -> `to` its own faults (replacing the default for it).
    @inlinable public func setLink(from: SimAddress, to: SimAddress, _ faults: LinkFaults) {
        core.links[SimulationCore<Node>.pair(Int32(from.index), Int32(to.index))] = LinkModel(faults)
    }

    /// Makes the directed link `from` -> `to` follow the default faults again.
    @inlinable public func resetLink(from: SimAddress, to: SimAddress) {
        core.links[SimulationCore<Node>.pair(Int32(from.index), Int32(to.index))] = nil
    }

    /// Changes the faults of every link that has none of its own.
    public func setDefaultLink(_ faults: LinkFaults) {
        defaultLink = faults
        core.defaultLink = LinkModel(faults)
    }

    /// Splits the network: nodes in different groups cannot reach each other, in either direction.
    /// Nodes in no group (including nodes added later) reach and are reached by everyone, which makes a
    /// "bridge" possible. Replaces the previous partition; cuts stay. A datagram in flight across the
    /// new split is dropped on arrival; a stream message in flight times out.
    @inlinable public func partition(_ groups: [[SimAddress]]) {
        core.partition(groups)
    }

    /// Blocks one direction: `from`'s datagrams to `to` are dropped. Stream messages fail with
    /// `.timedOut` both ways, since a stream needs both directions.
    @inlinable public func cut(from: SimAddress, to: SimAddress) {
        core.cuts.insert(SimulationCore<Node>.pair(Int32(from.index), Int32(to.index)))
    }

    /// Removes the partition and every cut (link faults stay).
    @inlinable public func heal() {
        core.heal()
    }

    /// Kills the node's process: its state is dropped, its pending wake-ups and inputs are discarded
    /// (stream messages waiting in its inbox are refused to their senders), datagrams to it are dropped
    /// and stream messages to it are refused, until `restart`. Messages it had already sent still arrive.
    @inlinable public func crash(_ address: SimAddress) {
        core.crash(address.index)
    }

    /// Starts a new node built by `make` at the same address (crashing the old one first if it is
    /// still running) and calls its `wake(at: now)` once. The new node gets a fresh generator.
    @inlinable public func restart(_ address: SimAddress, _ make: (SimAddress, inout SimulationRandom) -> Node) {
        core.crash(address.index)
        var random = SimulationRandom(seed: core.random.next())
        let node = make(address, &random)
        core.revive(address.index, node)
    }

    /// Freezes the node, like SIGSTOP: it handles nothing, arriving messages (and stream failures)
    /// queue in arrival order, and wake-ups that come due wait. Its peers see nothing unusual: the
    /// network keeps accepting what is sent to it.
    @inlinable public func pause(_ address: SimAddress) {
        core.pause(address.index)
    }

    /// Unfreezes a paused node at the current time: it handles the queued messages in arrival order,
    /// then the wake-ups that came due while it was paused, each input at its processing cost.
    @inlinable public func resume(_ address: SimAddress) {
        core.resume(address.index)
    }

    /// Makes the node process each input `factor` times slower: every input costs it
    /// `factor * processingCost` of its own virtual time, its sends leave only when that is paid, and
    /// inputs queue behind each other (a slow, overloaded member). Factor 1 is normal. The slowdown
    /// belongs to the address (the machine), so it stays across a restart.
    @inlinable public func setSlowdown(_ address: SimAddress, factor: Double) {
        core.setSlowdown(address.index, factor)
    }

    // MARK: Running

    /// Runs every event due within `duration` from now; the clock then reads `now + duration`.
    @inlinable public func run(for duration: Duration) {
        core.run(until: core.clock + duration.simulationNanosNonNegative("run duration"))
    }

    /// Runs every event due up to and including `time`; the clock then reads `time` (or stays, if it is
    /// already later).
    @inlinable public func run(until time: VirtualTime) {
        core.run(until: time.nanos)
    }

    /// Runs until `condition` holds (checked first, then after each event) or `timeout` of virtual time
    /// passes; returns whether it held. When it holds, the clock stays at the event that made it so.
    @inlinable @discardableResult
    public func run(until condition: () -> Bool, timeout: Duration) -> Bool {
        if condition() { return true }
        let deadline = core.clock + timeout.simulationNanosNonNegative("timeout")
        while core.step(until: deadline) {
            if condition() { return true }
        }
        core.advance(to: deadline)
        return condition()
    }
}
