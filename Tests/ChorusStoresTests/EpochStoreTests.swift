import ChorusReplication
import ChorusStores
import ChorusWire
import Testing

/// Producers' epochs (seed: Pulsar's ProducerEpochStore and its tests).
struct EpochStoreTests {
    @Test("given two started clients, when one stores an epoch, then the other does not see it (a store per client)")
    func perClientIsolation() throws {
        var node = replica(1)
        try EpochStore.initClient("a", in: &node)
        try EpochStore.initClient("b", in: &node)
        try EpochStore.put(client: "a", topic: "t", producer: "p", mode: .exclusive, epoch: 5, in: &node)
        #expect(try EpochStore.get(client: "a", topic: "t", producer: "p", mode: .exclusive, in: node) == 5)
        #expect(try EpochStore.get(client: "b", topic: "t", producer: "p", mode: .exclusive, in: node) == nil)
    }

    @Test("given a client never started, when its epochs are read, put or deleted, then each is a clientNotStarted error, not a crash, and nothing is written")
    func neverStartedClient() {
        var node = replica(1)
        let error = StoreError.clientNotStarted(client: "ghost")
        #expect(throws: error) { try EpochStore.get(client: "ghost", topic: "t", producer: "p", mode: .shared, in: node) }
        #expect(throws: error) { try EpochStore.put(client: "ghost", topic: "t", producer: "p", mode: .shared, epoch: 1, in: &node) }
        #expect(throws: error) { try EpochStore.delete(client: "ghost", topic: "t", producer: "p", mode: .shared, in: &node) }
        #expect(node.sequence == 0 && node.state.keyCount == 0)
        #expect(error.description.contains("ghost"))
    }

    @Test("given a started client with no epoch for a producer, when it is read, then there is none")
    func noEpoch() throws {
        var node = replica(1)
        try EpochStore.initClient("c", in: &node)
        #expect(try EpochStore.get(client: "c", topic: "new-topic", producer: "new-producer", mode: .shared, in: node) == nil)
    }

    @Test("given a stored epoch, when it is deleted, then reading it finds none, and deleting again writes nothing")
    func deleteThenGet() throws {
        var node = replica(1)
        try EpochStore.initClient("c", in: &node)
        try EpochStore.put(client: "c", topic: "t", producer: "p", mode: .exclusive, epoch: 5, in: &node)
        let deleted = try EpochStore.delete(client: "c", topic: "t", producer: "p", mode: .exclusive, in: &node)
        #expect(deleted != nil)
        #expect(try EpochStore.get(client: "c", topic: "t", producer: "p", mode: .exclusive, in: node) == nil)
        #expect(try EpochStore.delete(client: "c", topic: "t", producer: "p", mode: .exclusive, in: &node) == nil)
    }

    @Test("given a stored epoch, when a higher one is put, then it replaces it; when a lower one is put, then the higher stays and nothing is written")
    func putOverwritesUpwardOnly() throws {
        var node = replica(1)
        try EpochStore.initClient("c", in: &node)
        let first = try EpochStore.put(client: "c", topic: "t", producer: "p", mode: .exclusive, epoch: 5, in: &node)
        let higher = try EpochStore.put(client: "c", topic: "t", producer: "p", mode: .exclusive, epoch: 8, in: &node)
        #expect(first != nil && higher != nil && first != higher)
        #expect(try EpochStore.get(client: "c", topic: "t", producer: "p", mode: .exclusive, in: node) == 8)
        #expect(try EpochStore.put(client: "c", topic: "t", producer: "p", mode: .exclusive, epoch: 3, in: &node) == nil)
        #expect(try EpochStore.put(client: "c", topic: "t", producer: "p", mode: .exclusive, epoch: 8, in: &node) == nil)
        #expect(try EpochStore.get(client: "c", topic: "t", producer: "p", mode: .exclusive, in: node) == 8)
    }

    @Test("given one producer on one topic, then each access mode keeps its own epoch")
    func modesAreSeparate() throws {
        var node = replica(1)
        try EpochStore.initClient("c", in: &node)
        try EpochStore.put(client: "c", topic: "t", producer: "p", mode: .exclusive, epoch: 5, in: &node)
        try EpochStore.put(client: "c", topic: "t", producer: "p", mode: .exclusiveWithFencing, epoch: 9, in: &node)
        #expect(try EpochStore.get(client: "c", topic: "t", producer: "p", mode: .exclusive, in: node) == 5)
        #expect(try EpochStore.get(client: "c", topic: "t", producer: "p", mode: .exclusiveWithFencing, in: node) == 9)
        #expect(try EpochStore.get(client: "c", topic: "t", producer: "p", mode: .shared, in: node) == nil)
    }

    @Test("given a started client, when it is initialised again, then nothing is written and its epochs stay (init is idempotent)")
    func initIdempotent() throws {
        var node = replica(1)
        let first = try EpochStore.initClient("c", in: &node)
        try EpochStore.put(client: "c", topic: "t", producer: "p", mode: .shared, epoch: 2, in: &node)
        let again = try EpochStore.initClient("c", in: &node)
        #expect(first != nil && again == nil)
        #expect(try EpochStore.get(client: "c", topic: "t", producer: "p", mode: .shared, in: node) == 2)
    }

    @Test("given a client with epochs, when it is removed, then it is not started, its epochs are gone, another client's stay, and starting it again finds none")
    func removeClient() throws {
        var node = replica(1)
        try EpochStore.initClient("c", in: &node)
        try EpochStore.initClient("other", in: &node)
        try EpochStore.put(client: "c", topic: "t1", producer: "p", mode: .shared, epoch: 2, in: &node)
        try EpochStore.put(client: "c", topic: "t2", producer: "p", mode: .exclusive, epoch: 3, in: &node)
        try EpochStore.put(client: "other", topic: "t1", producer: "p", mode: .shared, epoch: 7, in: &node)
        let removed = EpochStore.removeClient("c", in: &node)
        #expect(removed == Dot(origin: node.origin, sequence: node.sequence), "the dot of its last write")
        #expect(!EpochStore.isStarted("c", in: node))
        #expect(throws: StoreError.clientNotStarted(client: "c")) {
            try EpochStore.get(client: "c", topic: "t1", producer: "p", mode: .shared, in: node)
        }
        #expect(try EpochStore.get(client: "other", topic: "t1", producer: "p", mode: .shared, in: node) == 7)
        try EpochStore.initClient("c", in: &node)
        #expect(try EpochStore.get(client: "c", topic: "t2", producer: "p", mode: .exclusive, in: node) == nil)
        #expect(EpochStore.removeClient("never", in: &node) == nil)
    }

    @Test("given a stored epoch, then a producer presenting a lower epoch is fenced, one presenting it or a higher one is not, and with none stored none is (PIP-68)")
    func fencing() throws {
        var node = replica(1)
        try EpochStore.initClient("c", in: &node)
        try EpochStore.put(client: "c", topic: "t", producer: "p", mode: .exclusiveWithFencing, epoch: 4, in: &node)
        #expect(EpochStore.isFenced(client: "c", topic: "t", producer: "p", mode: .exclusiveWithFencing, epoch: 3, in: node))
        #expect(!EpochStore.isFenced(client: "c", topic: "t", producer: "p", mode: .exclusiveWithFencing, epoch: 4, in: node))
        #expect(!EpochStore.isFenced(client: "c", topic: "t", producer: "p", mode: .exclusiveWithFencing, epoch: 5, in: node))
        #expect(!EpochStore.isFenced(client: "c", topic: "t", producer: "other", mode: .exclusiveWithFencing, epoch: 0, in: node))
    }

    @Test("given names over the wire's string limit, then the write is an invalidArgument error and nothing is written")
    func overlongName() throws {
        var node = replica(1)
        let long = String(repeating: "x", count: WireLimits.maxStringBytes + 1)
        #expect {
            try EpochStore.initClient(long, in: &node)
        } throws: { error in
            if case .invalidArgument = error as? StoreError { true } else { false }
        }
        try EpochStore.initClient("c", in: &node)
        #expect {
            try EpochStore.put(client: "c", topic: long, producer: "p", mode: .shared, epoch: 1, in: &node)
        } throws: { error in
            if case .invalidArgument = error as? StoreError { true } else { false }
        }
        #expect(node.state.keyCount == 1)
    }

    // MARK: Concurrency

    @Test("given two nodes putting one producer's epoch concurrently, when they exchange, then both read the highest, and fence below it")
    func concurrentPutsConverge() throws {
        var a = replica(1), b = replica(2)
        try EpochStore.initClient("c", in: &a)
        exchange(&a, &b)
        try EpochStore.put(client: "c", topic: "t", producer: "p", mode: .exclusive, epoch: 9, in: &a)
        try EpochStore.put(client: "c", topic: "t", producer: "p", mode: .exclusive, epoch: 4, in: &b)
        exchange(&a, &b)
        #expect(a.state == b.state)
        #expect(a.entries(.epoch(EpochKey(client: "c", topic: "t", producer: "p", mode: .exclusive)))?.count == 2)
        for node in [a, b] {
            #expect(try EpochStore.get(client: "c", topic: "t", producer: "p", mode: .exclusive, in: node) == 9)
            #expect(EpochStore.isFenced(client: "c", topic: "t", producer: "p", mode: .exclusive, epoch: 8, in: node))
        }
        // A later put that saw both keeps the highest and leaves one entry.
        try EpochStore.put(client: "c", topic: "t", producer: "p", mode: .exclusive, epoch: 5, in: &b)
        exchange(&a, &b)
        #expect(b.entries(.epoch(EpochKey(client: "c", topic: "t", producer: "p", mode: .exclusive)))?.values == [.epoch(9)])
        #expect(try EpochStore.get(client: "c", topic: "t", producer: "p", mode: .exclusive, in: a) == 9)
    }

    @Test("given a delete on one node and a concurrent put on another, when they exchange, then the put's epoch stays on both (a delete removes what it saw)")
    func concurrentDeleteAndPut() throws {
        var a = replica(1), b = replica(2)
        try EpochStore.initClient("c", in: &a)
        try EpochStore.put(client: "c", topic: "t", producer: "p", mode: .shared, epoch: 3, in: &a)
        exchange(&a, &b)
        try EpochStore.delete(client: "c", topic: "t", producer: "p", mode: .shared, in: &a)
        try EpochStore.put(client: "c", topic: "t", producer: "p", mode: .shared, epoch: 6, in: &b)
        exchange(&a, &b)
        #expect(a.state == b.state)
        #expect(try EpochStore.get(client: "c", topic: "t", producer: "p", mode: .shared, in: a) == 6)
    }

    @Test("given a client removed on one node while an epoch is put on another, when they exchange, then the client is not started but the epoch still fences, and shows again when the client starts again")
    func concurrentRemoveClientAndPut() throws {
        var a = replica(1), b = replica(2)
        try EpochStore.initClient("c", in: &a)
        exchange(&a, &b)
        EpochStore.removeClient("c", in: &a)
        try EpochStore.put(client: "c", topic: "t", producer: "p", mode: .exclusiveWithFencing, epoch: 4, in: &b)
        exchange(&a, &b)
        #expect(a.state == b.state)
        #expect(!EpochStore.isStarted("c", in: a))
        #expect(EpochStore.isFenced(client: "c", topic: "t", producer: "p", mode: .exclusiveWithFencing, epoch: 3, in: a))
        try EpochStore.initClient("c", in: &a)
        #expect(try EpochStore.get(client: "c", topic: "t", producer: "p", mode: .exclusiveWithFencing, in: a) == 4)
    }
}
