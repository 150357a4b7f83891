import ChorusGroups
import ChorusLoop
import ChorusWire
import Synchronization

/// How a message reached a member: handed over inside the process, or over a node-to-node link.
public enum DeliveryPath: String, Sendable, Equatable {
    case local, remote
}

/// A message as a member receives it.
public struct GroupMessage: Sendable {
    /// What a message holds: bytes sent to the member, or an event broadcast to its emitter group.
    public enum Content: Sendable, Equatable {
        case bytes([UInt8])
        case event(EmitterEvent)
        /// A message published on a topic the member subscribed to.
        case published(topic: String, payload: [UInt8])
    }

    /// The sending member; nil when a node sent it on its own account (broadcasts do).
    public var from: GroupMemberID?
    /// The node the message came from.
    public var fromNode: NodeUID
    public var content: Content
    public var path: DeliveryPath

    public init(from: GroupMemberID?, fromNode: NodeUID, content: Content, path: DeliveryPath) {
        self.from = from
        self.fromNode = fromNode
        self.content = content
        self.path = path
    }

    /// The bytes of a `.bytes` or `.published` message.
    public var payload: [UInt8]? {
        switch content {
        case .bytes(let bytes), .published(_, let bytes): bytes
        case .event: nil
        }
    }

    /// The event of an `.event` message.
    public var event: EmitterEvent? {
        if case .event(let event) = content { event } else { nil }
    }
}

/// A local endpoint that joins groups and receives messages, through its mailbox (`messages`)
/// or a handler given at creation.
///
/// It ends, leaving every group it joined, when `terminate()` is called, when the task reading
/// its mailbox is cancelled, or when the last reference to it goes.
public final class GroupMember: Sendable {
    public let id: GroupMemberID
    /// The mailbox: every message sent to this member, in arrival order. Empty for a member made
    /// with a handler. It finishes when the member ends.
    public let messages: AsyncStream<GroupMessage>
    /// Where the node delivers its messages (the shell registers it).
    let endpoint: MemberEndpoint
    private let end: @Sendable () -> Void
    private let ended: MemberLife

    init(id: GroupMemberID, messages: AsyncStream<GroupMessage>, endpoint: MemberEndpoint, life: MemberLife,
         end: @escaping @Sendable () -> Void) {
        self.id = id
        self.messages = messages
        self.endpoint = endpoint
        self.ended = life
        self.end = end
    }

    /// Whether the member has ended (terminated, or its mailbox cancelled).
    public var hasEnded: Bool { ended.hasEnded }

    /// Ends the member: it leaves every group, every join of it. Idempotent.
    public func terminate() { end() }

    deinit { end() }
}

/// Whether a member has ended, readable from any thread; set once, by the member's end.
final class MemberLife: Sendable {
    private let flag = Atomic<Bool>(false)

    var hasEnded: Bool { flag.load(ordering: .acquiring) }

    func end() { flag.store(true, ordering: .releasing) }
}

/// Where the shell delivers a local member's messages (a class: the broadcast path copies a
/// reference out of the directory, not a continuation and a closure).
final class MemberEndpoint: Sendable {
    let mailbox: AsyncStream<GroupMessage>.Continuation?
    let handler: (@Sendable (GroupMessage) -> Void)?

    init(mailbox: AsyncStream<GroupMessage>.Continuation?, handler: (@Sendable (GroupMessage) -> Void)?) {
        self.mailbox = mailbox
        self.handler = handler
    }

    func deliver(_ message: GroupMessage) {
        if let handler { handler(message) } else { mailbox?.yield(message) }
    }

    func finish() { mailbox?.finish() }
}
