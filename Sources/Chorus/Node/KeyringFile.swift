import ChorusLoop
import ChorusSeal
#if canImport(Glibc)
import Glibc
#endif

/// The keyring a node keeps in its data directory (`<data_dir>/keyring`), as `chorus keys` last
/// left it: at start it wins over the config's key, so that a rotation survives restarts (Serf
/// keeps its keyring file the same way). Written whole to a new file, synced, then renamed over
/// the old one, readable by its owner only.
enum KeyringFile {
    static func path(dataDir: String) -> String { dataDir + "/keyring" }

    /// The saved keyring, or nil when none was saved. A file that does not parse is an error (a
    /// node must not fall back to the config's key and seal with a key the cluster dropped).
    static func load(dataDir: String) throws(KeyringError) -> Keyring? {
        let path = path(dataDir: dataDir)
        guard access(path, F_OK) == 0 else { return nil }
        let text: String
        do {
            text = try ClusterConfig.readText(path: path, limit: 1 << 20, what: "a keyring file")
        } catch {
            throw .invalidFile("\(path): \(error.problem)")
        }
        do {
            return try Keyring(file: text)
        } catch {
            throw .invalidFile("\(path): \(error)")
        }
    }

    static func save(_ keyring: Keyring, dataDir: String) throws(KeyringError) {
        let path = path(dataDir: dataDir)
        let temporary = path + ".new"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .notSaved("\(temporary): \(errnoDescription(errno))") }
        var bytes = Array(keyring.file.utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                let reason = errnoDescription(errno)
                close(fd)
                throw .notSaved("\(temporary): \(reason)")
            }
            written += count
        }
        bytes.removeAll()
        let synced = fsync(fd) == 0
        close(fd)
        guard synced, rename(temporary, path) == 0 else { throw .notSaved("\(path): \(errnoDescription(errno))") }
    }
}
