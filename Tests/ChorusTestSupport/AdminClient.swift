import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Talks to a node's admin API over real HTTP.
public enum AdminClient {
    /// An HTTP answer.
    public struct Answer: Sendable {
        public var status: Int
        public var body: String
        public var contentType: String?
    }

    /// GETs `path` from the admin API at `admin` (host:port); nil when nothing answers.
    public static func get(_ admin: String, _ path: String) async -> Answer? {
        guard let url = URL(string: "http://\(admin)\(path)") else { return nil }
        var request = URLRequest(url: url)
        // Long enough for an answer a loaded machine's task pool is slow to give (a node that is
        // down refuses at once; this only bounds one that accepted and did not answer).
        request.timeoutInterval = 10
        guard let (data, response) = try? await URLSession.shared.data(for: request),
              let http = response as? HTTPURLResponse else { return nil }
        return Answer(status: http.statusCode, body: String(decoding: data, as: UTF8.self),
                      contentType: http.value(forHTTPHeaderField: "Content-Type"))
    }

    /// Sends `method` to `path` with a JSON `body` (if any) and the header fields `headers`; nil
    /// when nothing answers.
    public static func send(_ admin: String, _ method: String, _ path: String, body: String? = nil,
                            headers: [String: String] = [:], timeout: Double = 5) async -> Answer? {
        guard let url = URL(string: "http://\(admin)\(path)") else { return nil }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = timeout
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let body {
            request.httpBody = Data(body.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        guard let (data, response) = try? await URLSession.shared.data(for: request),
              let http = response as? HTTPURLResponse else { return nil }
        return Answer(status: http.statusCode, body: String(decoding: data, as: UTF8.self),
                      contentType: http.value(forHTTPHeaderField: "Content-Type"))
    }

    /// Polls `/v1/health` until it answers 200.
    public static func waitForHealth(_ admin: String, timeout: Duration = .seconds(20)) async -> String? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let answer = await get(admin, "/v1/health"), answer.status == 200 { return answer.body }
            if ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
}
