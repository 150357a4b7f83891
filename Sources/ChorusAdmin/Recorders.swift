import Chorus
import ChorusLoop
import ChorusWire

/// What a recorder keeps of the messages it received, without I/O.
///
/// Rules: messages are numbered from 1 in arrival order (`seq`); the log keeps the most recent
/// ones, at most `capacity` messages and `byteCapacity` bytes of payload (the newest message is
/// kept whatever its size); the oldest go first, and are counted in `dropped`, so a reader that
/// pages with `after` sees a gap as a jump in `seq` and knows how many it missed.
public struct RecorderLog: Sendable {
    /// One message and its number.
    public struct Entry: Sendable {
        public let seq: UInt64
        public let message: GroupMessage
    }

    /// Messages kept at most.
    public let capacity: Int
    /// Payload bytes kept at most (see `payloadSize`).
    public let byteCapacity: Int
    /// Messages received since the recorder was made; the `seq` of the last one.
    public private(set) var received: UInt64 = 0
    /// Messages dropped to stay within the capacities, oldest first.
    public private(set) var dropped: UInt64 = 0
    /// Payload bytes of the messages kept.
    public private(set) var bytes = 0
    private var storage: [Entry] = []
    /// Index in `storage` of the oldest message kept.
    private var head = 0

    public init(capacity: Int, byteCapacity: Int) {
        self.capacity = max(1, capacity)
        self.byteCapacity = max(0, byteCapacity)
    }

    /// Messages kept.
    public var count: Int { storage.count - head }

    /// The bytes a message counts for: its payload, or an event's data and metadata, plus 64
    /// for the rest.
    public static func payloadSize(_ message: GroupMessage) -> Int {
        switch message.content {
        case .bytes(let bytes), .published(_, let bytes): 64 + bytes.count
        case .event(let event): 64 + event.data.count + event.metadata.count
        }
    }

    /// Keeps `message` as the newest, dropping the oldest ones past the capacities.
    public mutating func append(_ message: GroupMessage) {
        received += 1
        storage.append(Entry(seq: received, message: message))
        bytes += Self.payloadSize(message)
        while count > 1 && (count > capacity || bytes > byteCapacity) {
            bytes -= Self.payloadSize(storage[head].message)
            head += 1
            dropped += 1
        }
        if head >= 1024 && head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
    }

    /// Up to `limit` kept messages whose `seq` is above `after`, oldest first.
    public func entries(after: UInt64, limit: Int) -> ArraySlice<Entry> {
        let first = received - UInt64(count) + 1 // seq of storage[head]
        let skip = after >= first ? Int(min(after - first + 1, UInt64(count))) : 0
        let start = head + skip
        return storage[start..<min(storage.count, start + max(0, limit))]
    }
}

/// Why a recorder operation was refused.
public enum RecorderError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No recorder of this id on this node's admin API (never made, or ended).
    case unknown(GroupMemberID)
    /// As many recorders as `Recorders.Limits.maxRecorders` exist already.
    case tooMany(limit: Int)
    /// The recorder's journal file could not be opened (`recorder_journal: true`).
    case journal(String)

    public var description: String {
        switch self {
        case .unknown(let member): "no recorder \(member) on this node (never made here, or ended)"
        case .tooMany(let limit): "this node has \(limit) recorders already, its limit; end some with DELETE /v1/recorders/{member}"
        case .journal(let problem): "cannot keep the recorder's journal: \(problem)"
        }
    }
}

/// The recording members of a node's admin API: group members living in the agent that keep
/// what they receive (in a `RecorderLog`) for `GET /v1/recorders/{member}/messages`, so that
/// joins, broadcasts and publishes can be driven and observed over HTTP alone.
///
/// A recorder is made by the admin API's `POST` routes (joined to a group, an emitter group or a
/// topic), lives until `DELETE /v1/recorders/{member}` or until the admin server stops, and is
/// an ordinary member meanwhile: it can join more groups by id, and leaves every group when it ends.
public final class Recorders: Sendable {
    /// How much recorders may hold.
    public struct Limits: Sendable, Equatable {
        /// Recorders at once on one node.
        public var maxRecorders: Int
        /// Messages a recorder keeps (the most recent).
        public var messagesPerRecorder: Int
        /// Payload bytes a recorder keeps.
        public var bytesPerRecorder: Int

        public init(maxRecorders: Int = 1024, messagesPerRecorder: Int = 10_000, bytesPerRecorder: Int = 16 * 1024 * 1024) {
            self.maxRecorders = maxRecorders
            self.messagesPerRecorder = messagesPerRecorder
            self.bytesPerRecorder = bytesPerRecorder
        }
    }

    /// A recorder as listed: its member and its counters.
    public struct Summary: Sendable, Equatable {
        public var member: GroupMemberID
        public var received: UInt64
        public var dropped: UInt64
        public var kept: Int
    }

    /// Messages of one recorder, and its counters.
    public struct Page: Sendable {
        public var member: GroupMemberID
        public var received: UInt64
        public var dropped: UInt64
        public var entries: [RecorderLog.Entry]
    }

    private final class Recording: Sendable {
        let member: GroupMember
        let log: LockedValue<RecorderLog>

        init(member: GroupMember, log: LockedValue<RecorderLog>) {
            self.member = member
            self.log = log
        }
    }

    public let node: ClusterNode
    public let limits: Limits
    private let recordings = LockedValue<[GroupMemberID: Recording]>([:])

    /// Where recorders keep their journals, when the node's settings ask for them.
    public let journalDirectory: String?

    public init(node: ClusterNode, limits: Limits = Limits()) {
        self.node = node
        self.limits = limits
        journalDirectory = node.settings.recorderJournal ? "\(node.settings.dataDir)/recorders" : nil
    }

    /// A new recorder: a member of the node that joined nothing yet.
    public func make() throws(RecorderError) -> GroupMemberID {
        let log = LockedValue(RecorderLog(capacity: limits.messagesPerRecorder, byteCapacity: limits.bytesPerRecorder))
        // The member's id is known only once it is made, and its first message may come at once:
        // the journal is set up under the log's lock before the member is handed anywhere.
        let journal = LockedValue<RecorderJournal?>(nil)
        let member = node.makeMember { message in
            log.withLock { log in
                log.append(message)
                guard let journal = journal.withLock({ $0 }) else { return }
                var line: [UInt8] = []
                JSONWriter.write(RecordedMessagesResponse.json(RecorderLog.Entry(seq: log.received, message: message)), into: &line)
                journal.append(line)
            }
        }
        if let journalDirectory {
            do throws(RecorderError) {
                let opened = try RecorderJournal(directory: journalDirectory, member: "\(member.id)")
                journal.withLock { $0 = opened }
            } catch {
                member.terminate()
                throw error
            }
        }
        let recording = Recording(member: member, log: log)
        let added = recordings.withLock { recordings -> Bool in
            guard recordings.count < limits.maxRecorders else { return false }
            recordings[member.id] = recording
            return true
        }
        guard added else {
            member.terminate()
            throw .tooMany(limit: limits.maxRecorders)
        }
        return member.id
    }

    /// Ends a recorder: its member leaves every group, and what it kept is forgotten.
    public func end(_ id: GroupMemberID) throws(RecorderError) {
        guard let recording = recordings.withLock({ $0.removeValue(forKey: id) }) else { throw .unknown(id) }
        recording.member.terminate()
    }

    /// Ends every recorder.
    public func endAll() {
        let all = recordings.withLock { recordings in
            defer { recordings = [:] }
            return Array(recordings.values)
        }
        for recording in all { recording.member.terminate() }
    }

    /// Up to `limit` messages of a recorder with a `seq` above `after`, oldest first.
    public func messages(of id: GroupMemberID, after: UInt64 = 0, limit: Int = .max) throws(RecorderError) -> Page {
        guard let recording = recordings.withLock({ $0[id] }) else { throw .unknown(id) }
        return recording.log.withLock { log in
            Page(member: id, received: log.received, dropped: log.dropped, entries: Array(log.entries(after: after, limit: limit)))
        }
    }

    /// Every recorder, by member id.
    public var all: [Summary] {
        let all = recordings.withLock { $0.sorted { $0.key < $1.key }.map(\.value) }
        return all.map { recording in
            recording.log.withLock { Summary(member: recording.member.id, received: $0.received, dropped: $0.dropped, kept: $0.count) }
        }
    }
}
