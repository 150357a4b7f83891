@testable import ChorusStores
import Testing

/// Log offsets: Electric's order, constants and text form.
struct LogOffsetTests {
    @Test("given offsets, then they are ordered by transaction offset, then by operation offset")
    func order() {
        let offsets = [LogOffset(txOffset: 2, opOffset: 0), LogOffset(txOffset: 1, opOffset: 7),
                       LogOffset(txOffset: 1, opOffset: 3), .last, .beforeAll, .first]
        #expect(offsets.sorted() == [.beforeAll, .first, LogOffset(txOffset: 1, opOffset: 3),
                                     LogOffset(txOffset: 1, opOffset: 7), LogOffset(txOffset: 2, opOffset: 0), .last])
        #expect(LogOffset(txOffset: 1, opOffset: .max) < LogOffset(txOffset: 2, opOffset: 0))
    }

    @Test("given the constants, then beforeAll is (-1, 0), first (0, 0) and last (max, max), and every offset lies between beforeAll and last")
    func constants() {
        #expect(LogOffset.beforeAll == LogOffset(txOffset: -1, opOffset: 0))
        #expect(LogOffset.first == LogOffset(txOffset: 0, opOffset: 0))
        #expect(LogOffset.last == LogOffset(txOffset: .max, opOffset: .max))
        #expect(LogOffset.beforeAll < .first && LogOffset.first < .last)
        #expect(LogOffset(txOffset: 0, opOffset: 1) > .first)
    }

    @Test("given an offset, then its text is tx_op and parses back to it",
          arguments: [(LogOffset(txOffset: 12, opOffset: 3), "12_3"), (.beforeAll, "-1_0"), (.first, "0_0"),
                      (.last, "9223372036854775807_9223372036854775807")])
    func textRoundTrip(_ offset: LogOffset, _ text: String) {
        #expect(offset.description == text)
        #expect(LogOffset(text) == offset)
    }

    @Test("given \"-1\" alone, as Electric prints the offset before all, then it parses to beforeAll")
    func electricBeforeAll() {
        #expect(LogOffset("-1") == .beforeAll)
    }

    @Test("given malformed text (empty, one part, three parts, signs, leading zeros, spaces, overflow, negatives other than beforeAll), then it does not parse",
          arguments: ["", "1", "_", "1_", "_1", "1_2_3", "+1_0", "1_+0", "01_0", "1_00", "-0_0", " 1_0", "1_0 ",
                      "1__0", "a_0", "-2_0", "-1_1", "3_-1", "-1_-0", "9223372036854775808_0", "-", "-1_"])
    func malformedText(_ text: String) {
        #expect(LogOffset(text) == nil)
    }
}

/// Access modes' text forms, ours and Pulsar's.
struct EpochAccessModeTests {
    @Test("given each mode, then its text is snake case and parses back, as does Pulsar's spelling",
          arguments: [(EpochAccessMode.shared, "shared", "Shared"), (.exclusive, "exclusive", "Exclusive"),
                      (.exclusiveWithFencing, "exclusive_with_fencing", "ExclusiveWithFencing"),
                      (.waitForExclusive, "wait_for_exclusive", "WaitForExclusive")])
    func text(_ mode: EpochAccessMode, _ text: String, _ pulsar: String) {
        #expect(mode.text == text && mode.description == text)
        #expect(EpochAccessMode(text: text) == mode)
        #expect(EpochAccessMode(text: pulsar) == mode)
    }

    @Test("given text that is no mode's, then it does not parse", arguments: ["", "SHARED", "shared ", "exclusiveWithFencing", "Exclusive_With_Fencing", "fenced"])
    func unknownText(_ text: String) {
        #expect(EpochAccessMode(text: text) == nil)
    }
}

/// Shapes and their handles.
struct ShapeValueTests {
    @Test("given definitions, then the hash is FNV-1a 64 of their UTF-8 bytes (the published test vectors), the same on every run")
    func hashIsFNV1a64() {
        #expect(Shape.fnv1a64("") == 0xcbf2_9ce4_8422_2325)
        #expect(Shape.fnv1a64("a") == 0xaf63_dc4c_8601_ec8c)
        #expect(Shape.fnv1a64("foobar") == 0x8594_4171_f739_67e8)
        #expect(Shape(definition: "foobar").hash == 0x8594_4171_f739_67e8)
    }

    @Test("given two definitions differing only in the last byte, then their hashes differ: the whole definition is hashed")
    func wholeDefinitionHashed() {
        let long = String(repeating: "{\"table\":\"items\",\"where\":\"id > 1\"}", count: 100)
        #expect(Shape(definition: long + "a").hash != Shape(definition: long + "b").hash)
    }

    @Test("given two shapes with one hash but different definitions, then they are not equal")
    func equalityIsByDefinition() {
        #expect(Shape(definition: "a", hash: 1) != Shape(definition: "b", hash: 1))
        #expect(Shape(definition: "a") == Shape(definition: "a"))
        // Canonically equivalent Unicode, different bytes: different definitions.
        #expect(Shape(definition: "\u{E9}") != Shape(definition: "e\u{301}"))
    }

    @Test("given a hash and a time, then the handle is the hash in 16 lowercase hex digits, a minus and the unix ms, and parses back")
    func handleText() throws {
        let handle = ShapeHandle(hash: 0xA1B2_C3D4_E5F6_0708, millis: 1_718_000_000_000)
        #expect(handle.text == "a1b2c3d4e5f60708-1718000000000")
        #expect(handle.hash == 0xA1B2_C3D4_E5F6_0708 && handle.millis == 1_718_000_000_000)
        #expect(ShapeHandle("a1b2c3d4e5f60708-1718000000000") == handle)
        #expect(ShapeHandle(hash: 5, millis: 0).text == "0000000000000005-0")
    }

    @Test("given malformed handle text (uppercase, short hash, no time, a sign, a leading zero, spaces, junk), then it does not parse",
          arguments: ["", "a1b2c3d4e5f60708", "a1b2c3d4e5f60708-", "A1B2C3D4E5F60708-1", "a1b2c3d4e5f6070-1",
                      "a1b2c3d4e5f607080-1", "a1b2c3d4e5f60708--1", "a1b2c3d4e5f60708-+1", "a1b2c3d4e5f60708-01",
                      "a1b2c3d4e5f60708-1 ", "a1b2c3d4e5f60708_1", "g1b2c3d4e5f60708-1", "a1b2c3d4e5f60708-99999999999999999999"])
    func malformedHandle(_ text: String) {
        #expect(ShapeHandle(text) == nil)
    }

    @Test("given handles, then they are ordered by time first, then by text")
    func handleOrder() {
        let early = ShapeHandle(hash: .max, millis: 9)
        let late = ShapeHandle(hash: 0, millis: 10)
        let lateHigher = ShapeHandle(hash: 1, millis: 10)
        #expect([lateHigher, late, early].sorted() == [early, late, lateHigher])
    }
}
