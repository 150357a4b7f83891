import ChorusReplication
import ChorusWire

/// A value of the replicated stores (which key holds which: see `StoreKey`).
///
/// The encoding is a one-byte tag per case (stable: never reused, never renumbered), then the
/// payload: integers big endian, an offset as its two parts, a shape as its definition (its hash
/// is computed again when decoded, so it cannot disagree). It is canonical.
///
/// Memory layout: a shape (a string and a hash, 24 bytes) is boxed (`indirect`) so that the enum
/// stays at 17 bytes (the offset's 16 and the tag): a `CausalEntry` is then 40 bytes and a key's
/// `CausalEntries` 48.
public enum StoreValue: Equatable, Sendable, CustomStringConvertible {
    /// Something exists or happened (a client's store, a snapshot that started).
    case marker
    /// A producer's topic epoch.
    case epoch(UInt64)
    /// A shape's definition.
    indirect case shape(Shape)
    /// A shape's snapshot xmin.
    case xmin(Int64)
    /// A shape's latest log offset.
    case offset(LogOffset)
    /// When an entity was last processed.
    case timestamp(Int64)

    /// The one-byte tag of each case.
    enum Tag: UInt8 {
        case marker = 1
        case epoch = 2
        case shape = 3
        case xmin = 4
        case offset = 5
        case timestamp = 6
    }

    public var description: String {
        switch self {
        case .marker: "marker"
        case let .epoch(epoch): "epoch(\(epoch))"
        case let .shape(shape): "shape(\(shape.definition.utf8.count) bytes, hash \(String(shape.hash, radix: 16)))"
        case let .xmin(xmin): "xmin(\(xmin))"
        case let .offset(offset): "offset(\(offset))"
        case let .timestamp(timestamp): "timestamp(\(timestamp))"
        }
    }
}

extension StoreValue: WireBody {
    public func encode(to writer: inout WireWriter) {
        switch self {
        case .marker:
            writer.writeEnum(Tag.marker)
        case let .epoch(epoch):
            writer.writeEnum(Tag.epoch)
            writer.writeUInt64(epoch)
        case let .shape(shape):
            writer.writeEnum(Tag.shape)
            writer.writeString(shape.definition, maxBytes: Shape.maxDefinitionBytes)
        case let .xmin(xmin):
            writer.writeEnum(Tag.xmin)
            writer.writeInt64(xmin)
        case let .offset(offset):
            writer.writeEnum(Tag.offset)
            writer.writeInt64(offset.txOffset)
            writer.writeInt64(offset.opOffset)
        case let .timestamp(timestamp):
            writer.writeEnum(Tag.timestamp)
            writer.writeInt64(timestamp)
        }
    }

    public init(from reader: inout WireReader) throws(WireError) {
        switch try reader.readEnum(Tag.self) {
        case .marker: self = .marker
        case .epoch: self = .epoch(try reader.readUInt64())
        case .shape: self = .shape(Shape(definition: try reader.readString(maxBytes: Shape.maxDefinitionBytes)))
        case .xmin: self = .xmin(try reader.readInt64())
        case .offset: self = .offset(LogOffset(txOffset: try reader.readInt64(), opOffset: try reader.readInt64()))
        case .timestamp: self = .timestamp(try reader.readInt64())
        }
    }
}
