import ChorusLoop
#if canImport(Glibc)
import Glibc
#endif

/// A node's data directory, where its durable state lives.
enum DataDirectory {
    /// Why a data directory cannot be made.
    struct Failure: Error, Sendable, CustomStringConvertible {
        let path: String
        let reason: String
        var description: String { "cannot create the data directory \(path): \(reason)" }
    }

    /// Makes `path` and any missing parents (`mkdir -p`); an existing directory is fine.
    static func create(_ path: String) throws(Failure) {
        guard !path.isEmpty else { throw Failure(path: path, reason: "the path is empty") }
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw Failure(path: path, reason: "\(prefix): \(errnoDescription(errno))")
            }
            prefix += "/"
        }
        var info = stat()
        guard stat(path, &info) == 0 else { throw Failure(path: path, reason: errnoDescription(errno)) }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw Failure(path: path, reason: "it exists and is not a directory") }
    }
}
