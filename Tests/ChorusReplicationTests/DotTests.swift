import ChorusReplication
import ChorusWire
import Testing

/// Dots name writes; their text form is an LSN's.
struct DotTests {
    @Test("given a dot, its text is the origin's 16 hex digits, a slash and the sequence in hex, and parses back")
    func textForm() {
        let write = Dot(origin: NodeUID(rawValue: 0x64f4_8df6_ba33_33eb), sequence: 0x1A2F)
        #expect(write.description == "64f48df6ba3333eb/1A2F")
        #expect(Dot("64f48df6ba3333eb/1A2F") == write)
        #expect(Dot("64F48DF6BA3333EB/1a2f") == write)
    }

    @Test("given malformed text (no slash, a short origin, no sequence, a sign, 17 digits, junk), then it does not parse",
          arguments: ["", "64f48df6ba3333eb", "64f48df6ba3333e/1", "64f48df6ba3333eb/", "64f48df6ba3333eb/+1",
                      "64f48df6ba3333eb/-1", "64f48df6ba3333eb/11111111111111111", "64f48df6ba3333eb/1g", "x/1"])
    func malformedText(_ text: String) {
        #expect(Dot(text) == nil)
    }

    @Test("given two writes of one origin, the later follows the earlier; writes of two origins are not ordered")
    func orderPerOrigin() {
        #expect(dot(1, 5).follows(dot(1, 4)) == true)
        #expect(dot(1, 4).follows(dot(1, 5)) == false)
        #expect(dot(1, 5).follows(dot(2, 1)) == nil)
    }

    @Test("given a dot with sequence 0 on the wire, then decoding refuses it")
    func zeroSequence() {
        var writer = WireWriter()
        writer.writeUInt64(7)
        writer.writeUInt64(0)
        #expect(throws: WireError.self) { try Dot(decoding: writer.finish()) }
    }
}

/// What a replica has seen.
struct CausalContextTests {
    @Test("given dots seen out of order, then they wait in the cloud and fold into the bound once the gap fills")
    func compaction() {
        var context = CausalContext()
        let inserted = [dot(1, 1), dot(1, 3), dot(1, 4)].map { context.insert($0) }
        #expect(inserted == [true, true, true])
        #expect(context.version(of: uid(1)) == 1 && context.cloud.count == 2)
        #expect(!context.contains(dot(1, 2)) && context.contains(dot(1, 4)))
        let gapFilled = context.insert(dot(1, 2))
        #expect(gapFilled)
        #expect(context.version(of: uid(1)) == 4 && context.cloud.isEmpty)
        let again = context.insert(dot(1, 3))
        #expect(!again, "seen already")
    }

    @Test("given two contexts, their union holds every dot of both, compacted, and the same either way round")
    func union() {
        let a = CausalContext(versions: [uid(1): 3, uid(2): 1], cloud: [dot(2, 3), dot(3, 5)])
        let b = CausalContext(versions: [uid(2): 2, uid(3): 4], cloud: [dot(1, 6)])
        let joined = a.union(b)
        #expect(joined == b.union(a))
        #expect(joined.version(of: uid(1)) == 3 && joined.version(of: uid(2)) == 3 && joined.version(of: uid(3)) == 5)
        #expect(joined.cloud == [dot(1, 6)])
        #expect(joined.covers(a) && joined.covers(b) && !a.covers(b))
    }

    @Test("given what a peer has seen, then missing lists the runs it lacks, split by the dots it saw out of order")
    func missingRuns() {
        let mine = CausalContext(versions: [uid(1): 10, uid(2): 2], cloud: [dot(3, 4)])
        let theirs = CausalContext(versions: [uid(1): 3, uid(2): 2], cloud: [dot(1, 6), dot(1, 7)])
        #expect(mine.missing(from: theirs) == [
            DotRun(origin: uid(1), first: 4, last: 5), DotRun(origin: uid(1), first: 8, last: 10),
            DotRun(origin: uid(3), first: 4, last: 4),
        ])
        #expect(theirs.missing(from: mine).isEmpty)
    }

    @Test("given a context, its encoding decodes to it; non-canonical encodings (unsorted, a zero bound, a cloud dot under its bound) are refused")
    func encoding() throws {
        let context = CausalContext(versions: [uid(2): 3, uid(1): 9], cloud: [dot(2, 7), dot(5, 2)])
        #expect(try CausalContext(decoding: context.encoded()) == context)
        var unsorted = WireWriter()
        unsorted.writeUInt32(2)
        for (origin, bound) in [(2, 1), (1, 1)] as [(UInt64, UInt64)] { unsorted.writeUInt64(origin); unsorted.writeUInt64(bound) }
        unsorted.writeUInt32(0)
        #expect(throws: WireError.self) { try CausalContext(decoding: unsorted.finish()) }
        var zero = WireWriter()
        zero.writeUInt32(1)
        zero.writeUInt64(1)
        zero.writeUInt64(0)
        zero.writeUInt32(0)
        #expect(throws: WireError.self) { try CausalContext(decoding: zero.finish()) }
        var covered = WireWriter()
        covered.writeUInt32(1)
        covered.writeUInt64(1)
        covered.writeUInt64(5)
        covered.writeUInt32(1)
        dot(1, 3).encode(to: &covered)
        #expect(throws: WireError.self) { try CausalContext(decoding: covered.finish()) }
    }
}
