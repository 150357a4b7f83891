import Foundation
import Chorus
import ChorusLoop
import ChorusMembership
import ChorusTestSupport
import Testing

@Suite("Cluster config files")
struct ClusterConfigTests {
    static let valid = """
        cluster: local-3
        profile: local
        log_level: debug
        encrypt_key: q0Vq1yq4m6+0m0J7Gx5o8U2bTqk3yQmD2m4JvYcC8nE=
        seeds: ["127.0.0.1:7301", "127.0.0.1:7302"]
        nodes:
          - name: n1
            bind: 127.0.0.1:7301
            admin: 127.0.0.1:8301
            data_dir: .chorus/local-3/n1
          - name: n2
            bind: 127.0.0.1:7302
            admin: 127.0.0.1:8302
            data_dir: .chorus/local-3/n2
        """

    @Test("given a valid file, then every field is read")
    func validFile() throws {
        let config = try ClusterConfig.parse(yaml: Self.valid)
        #expect(config.cluster == "local-3")
        #expect(config.profile == .local)
        #expect(config.logLevel == .debug)
        #expect(config.seeds.map(\.description) == ["127.0.0.1:7301", "127.0.0.1:7302"])
        #expect(config.nodes.map(\.name) == ["n1", "n2"])
        let n2 = try NodeSettings(config: config, node: "n2")
        #expect(n2.bind.description == "127.0.0.1:7302")
        #expect(n2.admin?.description == "127.0.0.1:8302")
        #expect(n2.dataDir == ".chorus/local-3/n2")
    }

    @Test("given encrypt_key, then every node gets a keyring with that key as its primary")
    func encryptKey() throws {
        let settings = try NodeSettings(config: try ClusterConfig.parse(yaml: Self.valid), node: "n1")
        #expect(settings.keyring?.primary == (try ClusterKey(base64: "q0Vq1yq4m6+0m0J7Gx5o8U2bTqk3yQmD2m4JvYcC8nE=")))
        #expect(settings.keyring?.keys.count == 1)
    }

    @Test("given no key and no insecure: true, a key that is not one, or two ways at once, then the file is refused naming encrypt_key",
          arguments: ["", "encrypt_key: c2hvcnQ=", "encrypt_key: q0Vq1yq4m6+0m0J7Gx5o8U2bTqk3yQmD2m4JvYcC8nE=\ninsecure: true",
                      "insecure: false"])
    func sealingRefused(line: String) {
        let yaml = Self.valid.replacingOccurrences(of: "encrypt_key: q0Vq1yq4m6+0m0J7Gx5o8U2bTqk3yQmD2m4JvYcC8nE=", with: line)
        #expect(throws: ConfigError.self) { try ClusterConfig.parse(yaml: yaml) }
        do {
            _ = try ClusterConfig.parse(yaml: yaml)
        } catch {
            #expect(error.field == "encrypt_key", "\(error)")
        }
    }

    @Test("given insecure: true, then the nodes have no keyring; given a keyring_file, then its keys in order, the first primary")
    func insecureAndKeyringFile() throws {
        let insecure = Self.valid.replacingOccurrences(of: "encrypt_key: q0Vq1yq4m6+0m0J7Gx5o8U2bTqk3yQmD2m4JvYcC8nE=", with: "insecure: true")
        #expect(try NodeSettings(config: try ClusterConfig.parse(yaml: insecure), node: "n1").keyring == nil)
        let path = NSTemporaryDirectory() + "keyring-\(UInt32.random(in: 0...UInt32.max))"
        try "# two keys\n\(TestKeys.other)\n\n\(TestKeys.cluster)\n".write(toFile: path, atomically: true, encoding: .utf8)
        let fromFile = Self.valid.replacingOccurrences(of: "encrypt_key: q0Vq1yq4m6+0m0J7Gx5o8U2bTqk3yQmD2m4JvYcC8nE=", with: "keyring_file: \(path)")
        let keyring = try NodeSettings(config: try ClusterConfig.parse(yaml: fromFile), node: "n2").keyring
        #expect(keyring?.keys.map(\.base64) == [TestKeys.other, TestKeys.cluster])
        #expect(keyring?.primary.base64 == TestKeys.other)
        try "not a key\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: ConfigError.self) { try NodeSettings(config: try ClusterConfig.parse(yaml: fromFile), node: "n2") }
    }

    @Test("given the shipped cluster-configs, then they load", arguments: ["local-3.yaml", "local-5.yaml"])
    func shippedConfigs(file: String) throws {
        let root = #filePath.split(separator: "/").dropLast(3).joined(separator: "/")
        let config = try ClusterConfig.load(path: "/\(root)/cluster-configs/\(file)")
        #expect(config.nodes.count == (file == "local-3.yaml" ? 3 : 5))
        #expect(config.nodes.allSatisfy { $0.admin.host == "127.0.0.1" && $0.dataDir.hasPrefix(".chorus/") })
    }

    /// A wrong file is refused with the field's path and what was expected there.
    @Test("given a wrong file, then the error names the field and what was expected", arguments: [
        ("profile: fast", "profile", "expected one of lan, wan, local"),
        ("nodes: 3", "nodes", "expected a list"),
        ("clustr: x", "clustr", "unknown field"),
        ("nodes: []", "nodes", "at least one node"),
        ("bind: 127.0.0.1", "nodes[0].bind", "expected host:port"),
        ("bind: example.org:1", "nodes[0].bind", "numeric IP"),
        ("admin: 127.0.0.1:99999", "nodes[0].admin", "port must be a number"),
        ("name: \"n 1\"", "nodes[0].name", "letters, digits"),
        ("seeds: [7]", "seeds[0]", "expected host:port"),
        ("port: 1", "nodes[0].port", "unknown field"),
    ])
    func wrongFile(edit: String, field: String, expected: String) throws {
        Self.expectRefused(Self.broken(by: edit), field: field, problem: expected)
    }

    /// Expects `yaml` to be refused with an error on `field` whose text contains `problem`.
    static func expectRefused(_ yaml: String, field: String, problem: String) {
        do {
            _ = try ClusterConfig.parse(yaml: yaml)
            Issue.record("accepted: \(yaml)")
        } catch {
            #expect(error.field == field)
            #expect(error.problem.contains(problem), "\(error)")
        }
    }

    @Test("given two nodes sharing a bind address, then the second is named")
    func duplicateBind() {
        let yaml = Self.valid.replacingOccurrences(of: "bind: 127.0.0.1:7302", with: "bind: 127.0.0.1:7301")
        #expect(throws: ConfigError(field: "nodes[1].bind", problem: "\"127.0.0.1:7301\" is already used by nodes[0]")) {
            try ClusterConfig.parse(yaml: yaml)
        }
    }

    @Test("given a missing node name, then the error lists the nodes there are")
    func unknownNode() throws {
        let config = try ClusterConfig.parse(yaml: Self.valid)
        #expect(throws: ConfigError(field: "nodes", problem: "no node named \"n9\" (nodes: n1, n2)")) {
            try config.node(named: "n9")
        }
    }

    @Test("given text that is not YAML or not a mapping, then it is refused")
    func notYAML() {
        #expect(throws: ConfigError.self) { try ClusterConfig.parse(yaml: "nodes: [unclosed") }
        #expect(throws: ConfigError.self) { try ClusterConfig.parse(yaml: "- a\n- b") }
        #expect(throws: ConfigError.self) { try ClusterConfig.load(path: "/nonexistent/chorus.yaml") }
    }

    @Test("given no membership mapping, then a node gets its profile's SWIM settings and no fault injection")
    func profileDefaults() throws {
        let config = try ClusterConfig.parse(yaml: Self.valid)
        let n1 = try NodeSettings(config: config, node: "n1")
        #expect(n1.swim == SWIMSettings.local)
        #expect(n1.debugFaults == false)
    }

    @Test("given membership overrides, then every SWIM field is set over the profile and the rest keep its values")
    func membershipOverrides() throws {
        let yaml = Self.valid.replacingOccurrences(of: "nodes:\n", with: """
            membership:
              probe_interval: 1s
              probe_timeout: 500ms
              indirect_checks: 2
              retransmit_multiplier: 5
              suspicion_multiplier: 6
              suspicion_max_timeout_multiplier: 3
              gossip_interval: 100ms
              gossip_nodes: 4
              push_pull_interval: 2m
              awareness_max_multiplier: 4
              tcp_fallback: false
              lifeguard: false
              reconnect_interval: 3s
              reconnect_timeout: 1h
              udp_packet_size: 1200
              gossip_to_the_dead: 20s
            nodes:

            """)
        let swim = try NodeSettings(config: ClusterConfig.parse(yaml: yaml), node: "n1").swim
        var expected = SWIMSettings.local
        expected.probeInterval = .seconds(1)
        expected.probeTimeout = .milliseconds(500)
        expected.indirectChecks = 2
        expected.retransmitMultiplier = 5
        expected.suspicionMultiplier = 6
        expected.suspicionMaxTimeoutMultiplier = 3
        expected.gossipInterval = .milliseconds(100)
        expected.gossipNodes = 4
        expected.pushPullInterval = .seconds(120)
        expected.awarenessMaxMultiplier = 4
        expected.tcpFallback = false
        expected.lifeguard = false
        expected.reconnectInterval = .seconds(3)
        expected.reconnectTimeout = .seconds(3600)
        expected.udpPacketSize = 1200
        expected.gossipToTheDead = .seconds(20)
        #expect(swim == expected)

        let partial = Self.valid.replacingOccurrences(of: "nodes:\n", with: "membership: {probe_interval: 300ms}\nnodes:\n")
        var local = SWIMSettings.local
        local.probeInterval = .milliseconds(300)
        #expect(try NodeSettings(config: ClusterConfig.parse(yaml: partial), node: "n2").swim == local)
    }

    @Test("given a wrong membership value, then the error names the field and says what was expected", arguments: [
        ("probe_intervl: 1s", "membership.probe_intervl", "unknown field"),
        ("probe_interval: fast", "membership.probe_interval", "expected a duration such as 200ms"),
        ("probe_interval: 10", "membership.probe_interval", "expected a duration"),
        ("probe_interval: 0ms", "membership.probe_interval", "more than zero"),
        ("probe_interval: 1.5s", "membership.probe_interval", "expected a duration"),
        ("gossip_nodes: 0", "membership.gossip_nodes", "from 1 to 64"),
        ("gossip_nodes: three", "membership.gossip_nodes", "expected a whole number"),
        ("tcp_fallback: sometimes", "membership.tcp_fallback", "expected true or false"),
        ("udp_packet_size: 9000", "membership.udp_packet_size", "from 512 to 1400"),
        ("probe_timeout: 5s", "membership.probe_timeout", "shorter than probe_interval"),
    ])
    func wrongMembership(entry: String, field: String, expected: String) {
        let yaml = Self.valid.replacingOccurrences(of: "nodes:\n", with: "membership:\n  \(entry)\nnodes:\n")
        Self.expectRefused(yaml, field: field, problem: expected)
    }

    @Test("given debug_faults at cluster level and per node, then the node's own value wins")
    func debugFaults() throws {
        let yaml = Self.valid
            .replacingOccurrences(of: "nodes:\n", with: "debug_faults: true\nnodes:\n")
            .replacingOccurrences(of: "    data_dir: .chorus/local-3/n2", with: "    data_dir: .chorus/local-3/n2\n    debug_faults: false")
        let config = try ClusterConfig.parse(yaml: yaml)
        #expect(try NodeSettings(config: config, node: "n1").debugFaults == true)
        #expect(try NodeSettings(config: config, node: "n2").debugFaults == false)
        #expect(throws: ConfigError.self) {
            try ClusterConfig.parse(yaml: Self.valid.replacingOccurrences(of: "nodes:\n", with: "debug_faults: 1\nnodes:\n"))
        }
    }

    @Test("given recorder_journal, then every node's recorders keep journals; without it none do, and a non-boolean is refused")
    func recorderJournal() throws {
        let config = try ClusterConfig.parse(yaml: Self.valid.replacingOccurrences(of: "nodes:\n", with: "recorder_journal: true\nnodes:\n"))
        #expect(try NodeSettings(config: config, node: "n1").recorderJournal == true)
        #expect(try NodeSettings(config: try ClusterConfig.parse(yaml: Self.valid), node: "n1").recorderJournal == false)
        #expect(throws: ConfigError.self) {
            try ClusterConfig.parse(yaml: Self.valid.replacingOccurrences(of: "nodes:\n", with: "recorder_journal: on\nnodes:\n"))
        }
    }

    @Test("given admin_token_file at cluster level and per node, then the node's own file wins, and a node with neither asks for no token")
    func adminTokenFile() throws {
        let yaml = Self.valid
            .replacingOccurrences(of: "nodes:\n", with: "admin_token_file: secrets/cluster.token\nnodes:\n")
            .replacingOccurrences(of: "    data_dir: .chorus/local-3/n2", with: "    data_dir: .chorus/local-3/n2\n    admin_token_file: /etc/chorus/n2.token")
        let config = try ClusterConfig.parse(yaml: yaml)
        #expect(try NodeSettings(config: config, node: "n1").adminTokenFile == "secrets/cluster.token")
        #expect(try NodeSettings(config: config, node: "n2").adminTokenFile == "/etc/chorus/n2.token")
        #expect(try NodeSettings(config: try ClusterConfig.parse(yaml: Self.valid), node: "n1").adminTokenFile == nil)
        Self.expectRefused(Self.valid.replacingOccurrences(of: "nodes:\n", with: "admin_token_file: 7\nnodes:\n"),
                           field: "admin_token_file", problem: "expected a non-empty string")
        Self.expectRefused(Self.valid.replacingOccurrences(of: "nodes:\n", with: "admin_token_file: \"\"\nnodes:\n"),
                           field: "admin_token_file", problem: "expected a non-empty string")
    }

    /// The admin API is loopback by default: another address needs admin_allow_remote and a token.
    @Test("given an admin address, then a non-loopback one is refused unless admin_allow_remote and a token file are set", arguments: [
        ("127.0.0.2:8301", "", nil),
        ("\"[::1]:8301\"", "", nil),
        ("localhost:8301", "", nil),
        ("0.0.0.0:8301", "", "is not a loopback address, and the admin API is loopback only by default"),
        ("10.1.2.3:8301", "admin_token_file: t.token", "set admin_allow_remote: true"),
        ("0.0.0.0:8301", "admin_allow_remote: true", "admin_allow_remote needs admin_token_file"),
        ("\"[::]:8301\"", "admin_allow_remote: true\nadmin_token_file: t.token", nil),
        ("0.0.0.0:8301", "admin_allow_remote: true\nadmin_token_file: t.token", nil),
    ] as [(String, String, String?)])
    func nonLoopbackAdmin(admin: String, access: String, problem: String?) throws {
        let yaml = Self.valid
            .replacingOccurrences(of: "nodes:\n", with: access.isEmpty ? "nodes:\n" : access + "\nnodes:\n")
            .replacingOccurrences(of: "admin: 127.0.0.1:8301", with: "admin: \(admin)")
        guard let problem else {
            let config = try ClusterConfig.parse(yaml: yaml)
            #expect(config.nodes[0].admin == (try SocketAddress(admin.replacingOccurrences(of: "\"", with: ""))))
            return
        }
        Self.expectRefused(yaml, field: "nodes[0].admin", problem: problem)
    }

    @Test("given admin_allow_remote and a token file for one node only, then only that node may listen beyond loopback")
    func perNodeAllowRemote() throws {
        let allowed = Self.valid
            .replacingOccurrences(of: "admin: 127.0.0.1:8302", with: "admin: 0.0.0.0:8302\n    admin_allow_remote: true\n    admin_token_file: n2.token")
        let config = try ClusterConfig.parse(yaml: allowed)
        let n2 = try NodeSettings(config: config, node: "n2")
        #expect(n2.adminAllowRemote && n2.adminTokenFile == "n2.token")
        #expect(try NodeSettings(config: config, node: "n1").adminAllowRemote == false)
        let refused = allowed.replacingOccurrences(of: "admin: 127.0.0.1:8301", with: "admin: 0.0.0.0:8301")
        Self.expectRefused(refused, field: "nodes[0].admin", problem: "not a loopback address")
        Self.expectRefused(Self.valid.replacingOccurrences(of: "nodes:\n", with: "admin_allow_remote: yes\nnodes:\n"),
                           field: "admin_allow_remote", problem: "expected true or false")
    }

    /// Applies one edit to the valid file: a top-level key replaced, or a key of the first node.
    static func broken(by edit: String) -> String {
        let key = String(edit.split(separator: ":")[0])
        var lines = valid.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if ["bind", "admin", "name", "port"].contains(key) {
            let index = lines.firstIndex { $0.contains("    \(key):") || ($0.contains("- name:") && key == "name") }
            if key == "port" {
                lines.insert("    \(edit)", at: 7)
            } else if key == "name" {
                lines[index!] = "  - \(edit)"
            } else {
                lines[index!] = "    \(edit)"
            }
        } else if let index = lines.firstIndex(where: { $0.hasPrefix("\(key):") }) {
            lines[index] = edit
            if key == "nodes" { lines = Array(lines[...index]) }
        } else {
            lines.insert(edit, at: 0)
        }
        return lines.joined(separator: "\n")
    }
}
