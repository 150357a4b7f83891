import ChorusCore
/// A node's address in the simulated network: a dense small integer, printed as `s12`.
///
/// Addresses are handed out by `Simulation.addNode` in order from 0 and stay with their slot for
/// the whole run: a restarted node keeps its address, as a restarted process keeps its host and port.
public struct SimAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The position of the node in the simulation, from 0.
    public let index: Int

    /// The address of the node at `index` (the `index`-th node added to a simulation).
    @inlinable public init(index: Int) { self.index = index }

    @inlinable public static func < (lhs: SimAddress, rhs: SimAddress) -> Bool { lhs.index < rhs.index }

    public var description: String { "s\(index)" }
}
