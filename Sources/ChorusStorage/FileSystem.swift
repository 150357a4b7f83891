#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The few POSIX file operations opening a store needs, without Foundation.
enum FileSystem {
    /// The text of `errno`.
    static func errorText(_ code: Int32 = errno) -> String {
        String(cString: strerror(code))
    }

    /// Creates `path` and its missing parents (like `mkdir -p`); fails if it is not a directory.
    static func makeDirectory(_ path: String) throws(StorageError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw .cannotOpen(path: path, reason: "mkdir \(prefix): \(errorText())")
            }
            prefix += "/"
        }
        var info = stat()
        guard stat(path, &info) == 0 else { throw .cannotOpen(path: path, reason: errorText()) }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw .cannotOpen(path: path, reason: "not a directory") }
    }

    /// Whether `path` exists; an error other than "no such file" is a failure.
    static func exists(_ path: String) throws(StorageError) -> Bool {
        var info = stat()
        if stat(path, &info) == 0 { return true }
        if errno == ENOENT { return false }
        throw .cannotOpen(path: path, reason: errorText())
    }

    /// Up to `count` bytes from the start of `path`.
    static func prefix(of path: String, count: Int) throws(StorageError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotOpen(path: path, reason: errorText()) }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, count - filled) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw .cannotOpen(path: path, reason: errorText()) }
            if n == 0 { break }
            filled += n
        }
        return Array(bytes[..<filled])
    }

    /// Removes `path` if it exists.
    static func remove(_ path: String) throws(StorageError) {
        if unlink(path) != 0 && errno != ENOENT { throw .cannotOpen(path: path, reason: "unlink: \(errorText())") }
    }

    /// Makes `target` name the file `source` names, failing with `false` when `target` exists (never
    /// replacing it), then removes the name `source`. Where hard links are not supported, renames
    /// (which would replace a `target` created since the caller checked).
    static func moveNoReplace(_ source: String, to target: String) throws(StorageError) -> Bool {
        if link(source, target) == 0 {
            try remove(source)
            return true
        }
        if errno == EEXIST { return false }
        guard rename(source, target) == 0 else { throw .cannotOpen(path: target, reason: "rename \(source): \(errorText())") }
        return true
    }

    /// Flushes `directory`'s entries to disk (after a file was created or renamed in it).
    static func syncDirectory(_ directory: String) throws(StorageError) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotOpen(path: directory, reason: errorText()) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .cannotOpen(path: directory, reason: "fsync: \(errorText())") }
    }

    /// Milliseconds since the Unix epoch, from the real-time clock.
    static func unixMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}
