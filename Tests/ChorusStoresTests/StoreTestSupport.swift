import ChorusReplication
import ChorusStores
import ChorusWire

/// A replica of the node run `number`.
func replica(_ number: UInt64) -> InMemoryStoreReplica {
    InMemoryStoreReplica(origin: NodeUID(rawValue: number))
}

/// A full anti-entropy round between two nodes: each joins the other's state. Returns the keys that
/// changed on each (what their shape statuses must be told).
@discardableResult
func exchange(_ a: inout InMemoryStoreReplica, _ b: inout InMemoryStoreReplica) -> (a: Set<StoreKey>, b: Set<StoreKey>) {
    let before = a
    let changedA = a.join(b)
    let changedB = b.join(before)
    return (changedA, changedB)
}
