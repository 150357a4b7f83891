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
        while true {
            if log.contains(text) { return true }
            if !process.isRunning || ContinuousClock.now >= deadline { return log.contains(text) }
            try? await Task.sleep(for: .milliseconds(20))
        }
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
}

