/// A node's figures at one moment, for metrics (`GET /metrics`) and views such as `chorus top`:
/// what each protocol counted on its own loop, read there when asked, so that counting costs the
/// hot paths no lock and no allocation.
public struct NodeFigures: Sendable, Equatable {
    public var membership = MembershipFigures()
    public var groups = GroupFigures()
    public var broadcasts = BroadcastFigures()
    /// Nil before `start` and after `stop`.
    public var stores: StoreFigures?

    public init() {}
}

extension ClusterNode {
    /// The node's figures, read on each loop in turn (zeros for a loop that has stopped).
    public func figures() async -> NodeFigures {
        await withCheckedContinuation { continuation in figures { continuation.resume(returning: $0) } }
    }

    /// The node's figures, read on each loop in turn and handed to `done` on the data loop's
    /// thread (or the caller's, once the loops have stopped): no task in between, so that a
    /// scrape is answered even while the cooperative thread pool is busy.
    public func figures(_ done: @escaping @Sendable (NodeFigures) -> Void) {
        let membership = self.membership
        let groups = self.groups
        let dataLoop = self.dataLoop
        @Sendable func readDataLoop(_ partial: NodeFigures) {
            let ran = dataLoop.execute { [self] in
                var figures = partial
                figures.groups = groups.figures
                figures.broadcasts = groups.broadcastFigures
                figures.stores = storeFigures()
                done(figures)
            }
            if !ran {
                var figures = partial
                figures.stores = storeFigures()
                done(figures)
            }
        }
        let ran = failureDetectorLoop.execute {
            var figures = NodeFigures()
            figures.membership = membership.figures
            readDataLoop(figures)
        }
        if !ran { readDataLoop(NodeFigures()) }
    }
}
