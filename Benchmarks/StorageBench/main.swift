// Storage benchmark: puts/s committed through StorageWriter in batches of 1,000 rows (40-byte keys
// in random order, 24-byte values), all submitted at once (group commit merges them); then "paced":
// 100 batches submitted one at a time into the full store, one transaction each; then the time to
// open the store again (PRAGMA quick_check) and to load every row with forEachRow. For each
// durability, every figure is the median of the rounds.
//
// Usage: chorus-storage-bench [rows (1000000)] [rounds (3)] [parent directory (/tmp)]
// Build in release: swift build -c release --product chorus-storage-bench
import ChorusStorage
#if canImport(Glibc)
import Glibc
#endif

let arguments = CommandLine.arguments
let rowCount = arguments.count > 1 ? Int(arguments[1])! : 1_000_000
let rounds = arguments.count > 2 ? Int(arguments[2])! : 3
let parent = arguments.count > 3 ? arguments[3] : "/tmp"
let batchSize = 1_000
let identity = StorageIdentity(cluster: "bench", node: "n1")

func now() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

func mix(_ x: UInt64) -> UInt64 {
    var z = x &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// Row `i`: a 40-byte key ("kv/" + 8 bytes of a hash of i, which spreads the keys over the B-tree,
/// + the rest of a readable name) and a 24-byte value.
func row(_ i: Int) -> (key: [UInt8], value: [UInt8]) {
    var key: [UInt8] = Array("kv/".utf8)
    withUnsafeBytes(of: mix(UInt64(i)).bigEndian) { key += $0 }
    let name = Array("/replica-store/key-\(i)".utf8)
    key += name.prefix(40 - key.count)
    while key.count < 40 { key.append(UInt8(ascii: ".")) }
    var value = [UInt8](repeating: 0, count: 24)
    withUnsafeBytes(of: UInt64(i).littleEndian) { value.replaceSubrange(0..<8, with: $0) }
    withUnsafeBytes(of: mix(UInt64(i) ^ 0xABCD).littleEndian) { value.replaceSubrange(8..<16, with: $0) }
    return (key, value)
}

func makeDirectory() -> String {
    var template = Array("\(parent)/chorus-storage-bench-XXXXXX".utf8CString)
    return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
}

func removeStore(_ directory: String) {
    for suffix in ["", "-wal", "-shm"] { unlink(directory + "/chorus.sqlite3" + suffix) }
    rmdir(directory)
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

let batches: [[StorageWrite]] = stride(from: 0, to: rowCount, by: batchSize).map { start in
    (start..<min(start + batchSize, rowCount)).map { i in
        let (key, value) = row(i)
        return .put(keyspace: 1, key: key, value: value)
    }
}

struct Round {
    var putsPerSecond: Double
    var transactions: Int
    var pacedPutsPerSecond: Double
    var openSeconds: Double
    var loadSeconds: Double
    var fileMiB: Double
}

func runRound(durability: StorageDurability) throws -> Round {
    let directory = makeDirectory()
    defer { removeStore(directory) }
    let writer = StorageWriter(storage: try NodeStorage.open(directory: directory, identity: identity, durability: durability))
    let start = now()
    for batch in batches {
        writer.submit(batch) { result in
            if case let .failure(error) = result { fatalError("commit failed: \(error)") }
        }
    }
    writer.flush()
    let writeSeconds = now() - start
    let transactions = writer.committedTransactions
    writer.shutdown()

    // Paced: one batch at a time into the full store, each its own transaction (steady state).
    let pacedBatches = 100
    let paced = StorageWriter(storage: try NodeStorage.open(directory: directory, identity: identity, durability: durability))
    let pacedStart = now()
    for (n, batch) in batches.prefix(pacedBatches).enumerated() {
        paced.submit(batch.map { write in
            guard case let .put(keyspace, key, value) = write else { return write }
            return .put(keyspace: keyspace, key: key, value: value.reversed() + [UInt8(n & 255)])
        }) { _ in }
        paced.flush()
    }
    let pacedSeconds = now() - pacedStart
    precondition(paced.committedTransactions == pacedBatches)
    paced.shutdown()

    var info = stat()
    stat(directory + "/chorus.sqlite3", &info)

    let openStart = now()
    let storage = try NodeStorage.open(directory: directory, identity: identity, durability: durability)
    let openSeconds = now() - openStart
    let loadStart = now()
    var rows = 0
    var bytes = 0
    var check: UInt8 = 0
    try storage.forEachRow(keyspace: 1) { key, value in
        rows += 1
        bytes += key.count + value.count
        check ^= key[key.count - 1] ^ value[0]
    }
    let loadSeconds = now() - loadStart
    storage.close()
    precondition(rows == rowCount && bytes == rowCount * 64 + min(rowCount, pacedBatches * batchSize), "loaded \(rows) rows, \(bytes) bytes (check \(check))")
    return Round(putsPerSecond: Double(rowCount) / writeSeconds, transactions: transactions,
                 pacedPutsPerSecond: Double(min(rowCount, pacedBatches * batchSize)) / pacedSeconds,
                 openSeconds: openSeconds, loadSeconds: loadSeconds, fileMiB: Double(info.st_size) / 1_048_576)
}

func format(_ value: Double, _ digits: Int = 0) -> String {
    var text = String(Int((value * pow(10, Double(digits))).rounded()))
    if digits > 0 {
        while text.count <= digits { text = "0" + text }
        text.insert(".", at: text.index(text.endIndex, offsetBy: -digits))
    }
    return text
}

print("chorus-storage-bench: \(rowCount) rows (40-byte keys in random order, 24-byte values), batches of \(batchSize), \(rounds) rounds, in \(parent)")
for durability in [StorageDurability.processCrash, .powerLoss] {
    var results: [Round] = []
    for _ in 0..<rounds {
        let round = try runRound(durability: durability)
        results.append(round)
        print("  \(durability): \(format(round.putsPerSecond)) puts/s in \(round.transactions) transactions; paced \(format(round.pacedPutsPerSecond)) puts/s; open (quick_check) \(format(round.openSeconds * 1000)) ms; forEachRow \(format(round.loadSeconds * 1000)) ms; file \(format(round.fileMiB, 1)) MiB")
    }
    print("\(durability) median: \(format(median(results.map(\.putsPerSecond)))) puts/s; paced \(format(median(results.map(\.pacedPutsPerSecond)))) puts/s; open \(format(median(results.map(\.openSeconds)) * 1000)) ms; load \(rowCount) rows \(format(median(results.map(\.loadSeconds)) * 1000)) ms")
}
