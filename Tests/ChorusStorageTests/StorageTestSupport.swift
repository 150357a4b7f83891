import ChorusStorage
#if canImport(Glibc)
import Glibc
#endif

/// A new empty directory under /tmp (mkdtemp); the caller removes it (`removeTree`).
func makeTemporaryDirectory() throws -> String {
    var template = Array("/tmp/chorus-storage-test-XXXXXX".utf8CString)
    let path = template.withUnsafeMutableBufferPointer { buffer -> String? in
        guard let made = mkdtemp(buffer.baseAddress!) else { return nil }
        return String(cString: made)
    }
    guard let path else { throw TestFailure("mkdtemp: \(String(cString: strerror(errno)))") }
    return path
}

/// Runs `body` with a new empty directory under /tmp, removed afterwards with everything in it.
func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let path = try makeTemporaryDirectory()
    defer { removeTree(path) }
    return try body(path)
}

/// Removes `path`, a file or a directory and what it holds.
func removeTree(_ path: String) {
    if let directory = opendir(path) {
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." { removeTree(path + "/" + name) }
        }
        closedir(directory)
        rmdir(path)
    } else {
        unlink(path)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The whole content of the file at `path`.
func readFile(_ path: String) throws -> [UInt8] {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw TestFailure("open \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n >= 0 else { throw TestFailure("read \(path): \(String(cString: strerror(errno)))") }
        if n == 0 { return bytes }
        bytes += chunk[..<n]
    }
}

/// Writes `bytes` over the file at `path`, at `offset` (or replaces the whole file when nil).
func writeFile(_ path: String, _ bytes: [UInt8], at offset: Int? = nil) throws {
    let fd = offset == nil ? open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644) : open(path, O_WRONLY)
    guard fd >= 0 else { throw TestFailure("open \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset ?? 0)) }
    guard written == bytes.count else { throw TestFailure("write \(path): \(String(cString: strerror(errno)))") }
}

/// The names in directory `path`, sorted.
func directoryNames(_ path: String) -> [String] {
    guard let directory = opendir(path) else { return [] }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted()
}

/// Every row of `keyspace`, copied, in the order `forEachRow` gives them.
func rows(of storage: NodeStorage, keyspace: Keyspace) throws -> [([UInt8], [UInt8])] {
    var rows: [([UInt8], [UInt8])] = []
    try storage.forEachRow(keyspace: keyspace) { key, value in rows.append((Array(key), Array(value))) }
    return rows
}

/// The bytes of `text`, for short keys and values.
func b(_ text: String) -> [UInt8] { Array(text.utf8) }

/// A value shared between threads, guarded by a pthread mutex.
final class Locked<Value>: @unchecked Sendable {
    // Safety of @unchecked Sendable: `value` is only touched between lock and unlock.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t> = .allocate(capacity: 1)
    private var value: Value

    init(_ value: Value) {
        self.value = value
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
