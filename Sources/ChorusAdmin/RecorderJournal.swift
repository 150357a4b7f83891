#if canImport(Glibc)
import Glibc
#endif

/// A recorder's journal on disk: every message it receives as one line of JSON (the object
/// `GET /v1/recorders/{member}/messages` lists), appended with one `write(2)` as it arrives. What
/// was written is in the kernel's hands, so a process killed with SIGKILL loses none of it (a
/// crash of the machine may). A node writes journals only when its config says
/// `recorder_journal: true`; they go to `<data_dir>/recorders/<member>.jsonl`.
final class RecorderJournal: Sendable {
    /// The file's path.
    let path: String
    private let descriptor: Int32

    /// Opens (creating, or appending to) the journal of `member` in `directory`, making the
    /// directory if needed.
    init(directory: String, member: String) throws(RecorderError) {
        if mkdir(directory, 0o755) != 0 && errno != EEXIST {
            throw .journal("cannot make \(directory): \(String(cString: strerror(errno)))")
        }
        path = "\(directory)/\(member).jsonl"
        descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .journal("cannot open \(path): \(String(cString: strerror(errno)))") }
    }

    /// Appends one line (a newline is added). Failures are ignored: the journal is a record for
    /// tests and chaos runs, and a full disk must not stop a member from receiving.
    func append(_ line: [UInt8]) {
        var bytes = line
        bytes.append(UInt8(ascii: "\n"))
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }

    deinit { close(descriptor) }
}
