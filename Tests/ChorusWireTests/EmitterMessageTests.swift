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
}
