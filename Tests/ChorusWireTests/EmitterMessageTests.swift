import ChorusWire
import Testing

/// The emitter messages' sizes, which the sender's batching relies on.
struct EmitterMessageTests {
    static let events = [
        EmitterEvent(eventID: "e1", eventType: "OrderPlaced", streamID: "order-1"),
        EmitterEvent(eventID: "", eventType: "", streamID: "", tags: []),
        EmitterEvent(eventID: "ノード", eventType: "t", streamID: "s", version: 9, data: Array(repeating: 1, count: 200),
                     metadata: [123, 125], tags: ["a", "ノード", ""], timestamp: -1, epochMicros: .max,
                     dataContentType: "application/octet-stream", metadataContentType: ""),
    ]

    @Test("given events with and without tags, encodedSize is the size of their encoding, and a batch item's too")
    func encodedSizes() {
        for event in Self.events {
            #expect(event.encodedSize == event.encoded().count)
            let batch = EmitterBatch(node: NodeUID(rawValue: 1), items: [EmitterBatch.Item(serial: 2, event: event)])
            #expect(batch.encoded().count == EmitterBatch.emptySize + batch.items[0].encodedSize)
        }
    }

    @Test("given batch and delivery frames, decoding the body alone gives what decoding the message gives; a frame of another type is malformed")
    func bodiesAlone() throws {
        let batch = EmitterBatch(node: NodeUID(rawValue: 7), items: Self.events.enumerated().map { EmitterBatch.Item(serial: UInt64($0.offset), event: $0.element) })
        var frame: [UInt8] = []
        WireCodec.encode(batch, as: .emitterBatch, into: &frame)
        #expect(frame == WireCodec.encode(.emitterBatch(batch)), "the body path encodes as the Message path")
        let decoded = frame.withUnsafeBytes { try? WireCodec.decode(EmitterBatch.self, as: .emitterBatch, frame: $0) }
        #expect(decoded == batch)
        let wrongType = frame.withUnsafeBytes { raw in
            wireError { try WireCodec.decode(EmitterDelivery.self, as: .emitterDelivery, frame: raw) }
        }
        #expect(wrongType == .malformed("expected a frame of type emitterDelivery, got emitterBatch"))
        let truncated = Array(frame.dropLast())
        let short = truncated.withUnsafeBytes { raw in
            wireError { try WireCodec.decode(EmitterBatch.self, as: .emitterBatch, frame: raw) }
        }
        #expect(short == .truncated(needed: frame.count, available: frame.count - 1))
    }
}
