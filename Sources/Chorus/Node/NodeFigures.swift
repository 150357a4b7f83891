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
        var figures = NodeFigures()
        let membership = self.membership
        if let read = try? await failureDetectorLoop.submit({ membership.figures }) { figures.membership = read }
        let groups = self.groups
        if let (joins, broadcasts) = try? await dataLoop.submit({ (groups.figures, groups.broadcastFigures) }) {
            figures.groups = joins
            figures.broadcasts = broadcasts
        }
        figures.stores = storeFigures()
        return figures
    }
}
