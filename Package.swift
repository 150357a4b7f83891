// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Chorus",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Chorus", targets: ["Chorus"]),
        .library(name: "ChorusLoop", targets: ["ChorusLoop"]),
        .library(name: "ChorusWire", targets: ["ChorusWire"]),
        .executable(name: "chorus", targets: ["chorus"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-atomics", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.1.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    ],
    targets: [
        // System libuv through pkg-config (Debian: libuv1-dev).
        .systemLibrary(
            name: "CLibUV",
            pkgConfig: "libuv",
            providers: [.apt(["libuv1-dev"])]
        ),
        // System libyaml through pkg-config (Debian: libyaml-dev), for cluster files.
        .systemLibrary(
            name: "CLibYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),
        // System SQLite through pkg-config (Debian: libsqlite3-dev), for the durable stores.
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // libuv event loops: executors, timers, UDP, framed TCP.
        .target(name: "ChorusLoop", dependencies: ["CLibUV"]),
        // Message types and the versioned binary codec; no I/O.
        .target(name: "ChorusWire"),
        // Deterministic simulator: virtual clock, seeded randomness, simulated network; runs the pure cores.
        .target(name: "ChorusSimulation", dependencies: ["ChorusCore"]),
        // Vocabulary shared by the pure protocol cores: protocol time, seeded randomness.
        .target(name: "ChorusCore"),
        // SWIM + Lifeguard membership, pure: no I/O, no clock, no randomness of its own.
        .target(name: "ChorusMembership", dependencies: ["ChorusCore", "ChorusWire"]),
        // The SWIM core run by the simulator: simulated members and clusters, for specs and benchmarks.
        .target(name: "ChorusMembershipSimulation", dependencies: ["ChorusMembership", "ChorusSimulation", "ChorusCore", "ChorusWire"]),
        // Process groups with Erlang pg's semantics, pure: scopes, groups, monitors' notifications,
        // numbered deltas and syncs between nodes.
        .target(name: "ChorusGroups", dependencies: ["ChorusCore", "ChorusWire", "ChorusMembership"]),
        // SWIM and groups cores run together by the simulator (what a node runs), for pg's specs.
        .target(name: "ChorusGroupsSimulation", dependencies: ["ChorusGroups", "ChorusMembership", "ChorusMembershipSimulation", "ChorusSimulation", "ChorusCore", "ChorusWire"]),
        // Replicated stores, pure: dots, causal contexts, causal maps and their join, the delta log,
        // anti-entropy and snapshots.
        .target(name: "ChorusReplication", dependencies: ["ChorusCore", "ChorusWire"]),
        // Sealed traffic, pure: cluster keys, the keyring and its rotation rules, AES-256-GCM
        // envelopes of frames (swift-crypto).
        .target(name: "ChorusSeal", dependencies: ["ChorusWire", .product(name: "Crypto", package: "swift-crypto")]),
        // Durable stores: opaque rows in keyspaces and metadata in one SQLite file, group-committed on a thread.
        .target(name: "ChorusStorage", dependencies: ["CSQLite", "ChorusWire"]),
        // The replicated stores' rules, pure: producer epochs, shape status, process status over a replica.
        .target(name: "ChorusStores", dependencies: ["ChorusReplication", "ChorusWire", "ChorusCore"]),
        // ClusterNode: wires the cores to the loops; the embedding API; configuration.
        .target(
            name: "Chorus",
            dependencies: [
                "ChorusLoop", "ChorusWire", "ChorusMembership", "ChorusGroups", "ChorusReplication", "ChorusStores", "ChorusStorage", "ChorusSeal", "CLibYAML",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Atomics", package: "swift-atomics"),
            ]
        ),
        // HTTP admin API and Prometheus metrics: its own HTTP/1.1 server on a libuv loop, JSON
        // without Foundation.
        .target(
            name: "ChorusAdmin",
            dependencies: [
                "Chorus", "ChorusLoop", "ChorusWire",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            // Members of modules a file does not import itself stay invisible (no borrowed imports).
            swiftSettings: [.enableUpcomingFeature("MemberImportVisibility")]
        ),
        // The `chorus` command: agent, members, config, version.
        .executableTarget(
            name: "chorus",
            dependencies: [
                "Chorus", "ChorusAdmin", "ChorusLoop",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: [.enableUpcomingFeature("MemberImportVisibility")]
        ),
        // Transport benchmark peer (scripts/bench transport).
        .executableTarget(
            name: "chorus-transport-bench",
            dependencies: ["Chorus", "ChorusLoop", "ChorusWire"],
            path: "Benchmarks/TransportBench"
        ),
        // Groups benchmark (scripts/bench groups): emitter broadcast and joins on two nodes.
        .executableTarget(
            name: "chorus-groups-bench",
            dependencies: ["Chorus", "ChorusLoop"],
            path: "Benchmarks/GroupsBench"
        ),
        // Storage benchmark: puts/s through StorageWriter, time to load a million rows.
        .executableTarget(
            name: "chorus-storage-bench",
            dependencies: ["ChorusStorage"],
            path: "Benchmarks/StorageBench"
        ),
        // Stores benchmark (scripts/bench stores): durable writes, replication lag, recovery, memory.
        .executableTarget(
            name: "chorus-stores-bench",
            dependencies: ["Chorus", "ChorusLoop", "ChorusReplication", "ChorusStorage", "ChorusStores", "ChorusWire"],
            path: "Benchmarks/StoresBench"
        ),
        // Membership simulation benchmark: N simulated members, wall time and protocol figures.
        .executableTarget(
            name: "chorus-membership-sim",
            dependencies: ["ChorusMembershipSimulation", "ChorusMembership", "ChorusSimulation", "ChorusCore"],
            path: "Benchmarks/MembershipSim"
        ),
        // The embedding example (Examples/README.md): its logic as a library, which the
        // `chorus-example` executable runs and ChorusExamplesTests checks.
        .target(
            name: "ChorusExamples",
            dependencies: ["Chorus", "ChorusLoop", .product(name: "Logging", package: "swift-log")],
            path: "Examples/EmitterExample/Library"
        ),
        .executableTarget(name: "chorus-example", dependencies: ["ChorusExamples"], path: "Examples/EmitterExample/Main"),
        // Seeded randomness and recorders shared by the test targets.
        .target(name: "ChorusTestSupport", dependencies: ["ChorusCore", "ChorusLoop"], path: "Tests/ChorusTestSupport"),
        .testTarget(name: "ChorusLoopTests", dependencies: ["ChorusLoop", "ChorusTestSupport"]),
        .testTarget(name: "ChorusCoreTests", dependencies: ["ChorusCore"]),
        .testTarget(name: "ChorusMembershipTests", dependencies: ["ChorusMembership", "ChorusMembershipSimulation", "ChorusCore", "ChorusWire", "ChorusSimulation", "ChorusTestSupport"]),
        .testTarget(name: "ChorusGroupsTests", dependencies: ["ChorusGroups", "ChorusGroupsSimulation", "ChorusMembership", "ChorusCore", "ChorusWire", "ChorusSimulation", "ChorusTestSupport"]),
        .testTarget(
            name: "ChorusReplicationTests",
            dependencies: [
                "ChorusReplication", "ChorusCore", "ChorusWire", "ChorusSimulation", "ChorusTestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        // Specs of the stores' rules, ported from the seeds' own tests, and of their convergence.
        .testTarget(name: "ChorusStoresTests", dependencies: ["ChorusStores", "ChorusReplication", "ChorusWire", "ChorusCore"]),
        .testTarget(name: "ChorusWireTests", dependencies: ["ChorusWire", "ChorusTestSupport"]),
        .testTarget(name: "ChorusSimulationTests", dependencies: ["ChorusSimulation", "ChorusCore", "ChorusTestSupport"]),
        .testTarget(
            name: "ChorusTests",
            dependencies: [
                "Chorus", "ChorusAdmin", "ChorusTestSupport",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "ChorusIntegrationTests", dependencies: ["Chorus", "ChorusAdmin", "ChorusTestSupport"]),
        // NodeStorage and StorageWriter on temporary directories: reopening, refusals, group commit.
        .testTarget(name: "ChorusStorageTests", dependencies: ["ChorusStorage"]),
        .testTarget(name: "ChorusSealTests", dependencies: ["ChorusSeal", "ChorusWire"]),
        .testTarget(name: "ChorusExamplesTests", dependencies: ["ChorusExamples", "ChorusTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
