/// An HTTP answer: status, header fields and the whole body. The server adds `Server`,
/// `Content-Length` and, when it closes, `Connection: close`.
public struct HTTPResponse: Sendable, Equatable {
    public var status: HTTPStatus
    /// Header fields besides those the server adds.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: HTTPStatus, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON answer: `Content-Type: application/json; charset=utf-8`.
    public static func json(_ value: JSONValue, status: HTTPStatus = .ok) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json; charset=utf-8")], body: value.serialized())
    }

    /// The value of the first field called `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// The whole message as sent: status line, fields, `Content-Length`, then the body.
    func encoded(server: String, keepAlive: Bool, keepAliveAsked: Bool = false) -> [UInt8] {
        var head = "HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\nServer: \(server)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "Content-Length: \(body.count)\r\n"
        if !keepAlive {
            head += "Connection: close\r\n"
        } else if keepAliveAsked {
            head += "Connection: keep-alive\r\n"
        }
        head += "\r\n"
        var bytes = Array(head.utf8)
        bytes += body
        return bytes
    }

    public static func == (lhs: HTTPResponse, rhs: HTTPResponse) -> Bool {
        lhs.status == rhs.status && lhs.body == rhs.body
            && lhs.headers.elementsEqual(rhs.headers, by: { $0.name == $1.name && $0.value == $1.value })
    }
}
