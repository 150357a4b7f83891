import ChorusLoop
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A real `chorus` process started by a test, with its stderr captured to a file.
final class AgentProcess: @unchecked Sendable {
    // Safety: `process` is only started and signalled from the test task that owns this object.
    let process = Process()
    let logPath: String

    /// The `chorus` binary: $CHORUS_BIN, or the one built beside the test bundle.
    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["CHORUS_BIN"] { return path }
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [beside, beside.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("chorus").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/chorus").path
    }

    init(_ arguments: [String], in directory: String) throws {
        logPath = directory + "/agent-\(UUID().uuidString.prefix(8)).log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardError = log
        process.standardOutput = log
        try process.run()
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
    var isRunning: Bool { process.isRunning }

    /// Waits until the log contains `text`; false on timeout or if the process ended first.
    func waitForLog(_ text: String, timeout: Duration = .seconds(20)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if log.contains(text) { return true }
            if !process.isRunning { return log.contains(text) }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    /// Waits for the process to end and returns its exit status, or nil on timeout.
    func waitForExit(timeout: Duration = .seconds(20)) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }

    /// SIGTERM and wait; SIGKILL if it does not stop.
    @discardableResult
    func stop() async -> Int32? {
        guard process.isRunning else { return process.terminationStatus }
        process.terminate()
        if let status = await waitForExit(timeout: .seconds(10)) { return status }
        kill(process.processIdentifier, SIGKILL)
        return await waitForExit(timeout: .seconds(5))
    }

    /// GETs `path` from the admin API; nil when nothing answers.
    static func get(_ admin: String, _ path: String) async -> (Int, String)? {
        guard let url = URL(string: "http://\(admin)\(path)") else { return nil }
        var request = URLRequest(url: url)
        request.timeoutInterval = 2
        guard let (data, response) = try? await URLSession.shared.data(for: request),
              let http = response as? HTTPURLResponse else { return nil }
        return (http.statusCode, String(decoding: data, as: UTF8.self))
    }

    /// Polls `/v1/health` until it answers 200.
    static func waitForHealth(_ admin: String, timeout: Duration = .seconds(20)) async -> String? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let (status, body) = await get(admin, "/v1/health"), status == 200 { return body }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }
}

/// Free loopback ports, found by binding port 0 for both UDP and TCP.
enum FreePorts {
    static func take(_ count: Int) throws -> [UInt16] {
        var ports: [UInt16] = []
        var sockets: [Int32] = []
        defer { sockets.forEach { close($0) } }
        while ports.count < count {
            let tcp = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = 0
            _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(tcp, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(tcp, $0, &length) } }
            sockets.append(tcp)
            let port = UInt16(bigEndian: address.sin_port)
            // The same port must be free for UDP too.
            let udp = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(udp, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            close(udp)
            if bound == 0 && port < 64000 { ports.append(port) }
        }
        return ports
    }
}

/// A scratch directory for one test.
func scratchDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "chorus-it-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// A small deterministic generator for test inputs; the seed is printed by the tests that use it.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
