import ChorusStores

extension ClusterNode {
    /// Producer epochs, replicated to every node.
    public var epochs: NodeEpochStore { NodeEpochStore(stores: stores) }

    /// Shape status, replicated to every node.
    public var shapes: NodeShapeStatus { NodeShapeStatus(stores: stores) }

    /// The process status called `name`, kept as `keeping` says. Two names are two statuses; the
    /// same name kept `durable` and `replicated` are two statuses too (one per keyspace).
    public func processStatus(named name: String, keeping: ProcessStatusKeeping = .replicated) -> NodeProcessStatus {
        NodeProcessStatus(stores: stores, name: name, keeping: keeping)
    }

    /// The LSN tracker called `name` (any number side by side).
    public func lsnTracker(named name: String = "default") -> LSNTracker {
        LSNTracker(stores: stores, name: name)
    }
}
