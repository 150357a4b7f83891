/// Whose store a file is: the cluster and the node name it was created for.
///
/// Written into a new store and checked on every later open, so that a data_dir copied from another
/// node, or left over from another cluster, is refused instead of being loaded as this node's state.
public struct StorageIdentity: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The cluster's name.
    public var cluster: String
    /// The node's name within the cluster.
    public var node: String

    /// An identity of `node` in `cluster`.
    public init(cluster: String, node: String) {
        self.cluster = cluster
        self.node = node
    }

    /// `node "n" of cluster "c"`, as messages show it.
    public var description: String { "node \"\(node)\" of cluster \"\(cluster)\"" }
}
