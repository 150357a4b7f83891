// chorus-example: runs the emitter example (Examples/README.md) and prints what happens.
//
//   swift run chorus-example [--port N]
//
// alpha listens on 127.0.0.1:N and beta on 127.0.0.1:N+1 (UDP and TCP each); N defaults to 7401.

import ChorusExamples
import Foundation

let usage = "usage: chorus-example [--port N]   (alpha binds 127.0.0.1:N, beta N+1; default 7401)"

/// Writes `message` to stderr and exits with `status`.
func fail(_ message: String, status: Int32) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(status)
}

var port: UInt16 = 7401
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--port":
        guard let value = arguments.popFirst().flatMap({ UInt16($0) }), value > 0, value < UInt16.max else {
            fail("--port needs a number from 1 to 65534\n\(usage)", status: 2)
        }
        port = value
    case "-h", "--help":
        print(usage)
        exit(0)
    default:
        fail("unknown argument \(argument)\n\(usage)", status: 2)
    }
}

do {
    _ = try await runEmitterExample(alphaPort: port, betaPort: port + 1) { print($0) }
} catch {
    let hint = "\(error)".contains("EADDRINUSE") ? "\n(a port is in use: pick others with --port N)" : ""
    fail("the example failed: \(error)\(hint)", status: 1)
}
