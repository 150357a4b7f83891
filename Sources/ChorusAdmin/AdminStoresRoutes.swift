import Chorus

/// An operation of the stores part of the admin API, with what its path carried (segments
/// percent-decoded, not yet parsed).
public enum StoresRoute: Sendable, Equatable {
    /// `PUT /v1/epochs/{client}`: starts a client's epoch store (idempotent).
    case initClient(client: String)
    /// `DELETE /v1/epochs/{client}`: removes a client's store and its epochs.
    case removeClient(client: String)
    case putEpoch(client: String, topic: String, producer: String, mode: String)
    case getEpoch(client: String, topic: String, producer: String, mode: String)
    case deleteEpoch(client: String, topic: String, producer: String, mode: String)
    case addShape(stack: String)
    case listShapes(stack: String)
    case shape(stack: String, handle: String)
    case removeShape(stack: String, handle: String)
    case setLatestOffset(stack: String, handle: String)
    case setSnapshotXmin(stack: String, handle: String)
    case markSnapshotStarted(stack: String, handle: String)
    case itemProcessed(name: String)
    case processItems(name: String)
    case processItem(name: String, entity: String)
    case resetProcessStatus(name: String)
    case lastReplay(tracker: String)
    case replicated(tracker: String)
    case awaitLSN(tracker: String)
}

/// The admin API's routes for the node's stores: producer epochs, shape status, process status
/// and LSN trackers. Each reads its path, query and body whole, and refuses a bad one with a 400,
/// before it changes anything; reads answer at once from memory, writes from a task once
/// committed on this node. A `StoreError` is answered as `HTTPError(_: StoreError)` says.
extension AdminResponder {
    /// Answers a stores operation; its query was read (and checked) as `AdminRoute.queryKeys`
    /// says, and a body it does not take was refused.
    func stores(_ route: StoresRoute, _ request: HTTPRequest, _ query: QueryReader) throws(HTTPError) -> HTTPHandling {
        switch route {
        // MARK: Epochs
        case .initClient(let client):
            return write { node throws(StoreError) in .json(LSNResponse(try await node.epochs.initialize(client: client)).json) }
        case .removeClient(let client):
            return write { node throws(StoreError) in .json(LSNResponse(try await node.epochs.removeClient(client)).json) }
        case .putEpoch(let client, let topic, let producer, let modeText):
            let mode = try EpochAccessMode.parse(modeText)
            let epoch = try EpochPutRequest(body: request.body).epoch
            return write { node throws(StoreError) in
                let lsn = try await node.epochs.put(client: client, topic: topic, producer: producer, mode: mode, epoch: epoch)
                // The epoch held now: this one, or a higher one that was there (or came meanwhile).
                let stored = try? node.epochs.get(client: client, topic: topic, producer: producer, mode: mode)
                return .json(EpochPutResponse(lsn: lsn, epoch: stored ?? epoch).json)
            }
        case .getEpoch(let client, let topic, let producer, let modeText):
            let mode = try EpochAccessMode.parse(modeText)
            return try read { () throws(StoreError) in
                guard let epoch = try node.epochs.get(client: client, topic: topic, producer: producer, mode: mode) else {
                    return errorResponse(HTTPError(.notFound, "no epoch is stored for producer \"\(producer.prefix(64))\" of topic "
                                                       + "\"\(topic.prefix(64))\" (\(mode)) of client \"\(client.prefix(64))\""))
                }
                return .json(EpochResponse(epoch: epoch).json)
            }
        case .deleteEpoch(let client, let topic, let producer, let modeText):
            let mode = try EpochAccessMode.parse(modeText)
            return write { node throws(StoreError) in
                .json(LSNResponse(try await node.epochs.delete(client: client, topic: topic, producer: producer, mode: mode)).json)
            }

        // MARK: Shapes
        case .addShape(let stack):
            let shape = try ShapeAddRequest(body: request.body).shape
            return write { node throws(StoreError) in
                let (handle, lsn) = try await node.shapes.addShape(shape, stack: stack)
                return .json(ShapeAddResponse(handle: handle, lsn: lsn).json, status: lsn == nil ? .ok : .created)
            }
        case .listShapes(let stack):
            return try read { () throws(StoreError) in
                var shapes: [ShapeSummary] = []
                for (handle, shape) in try node.shapes.listShapes(stack: stack) {
                    // A shape removed since the list was read is left out.
                    guard let offset = try Self.unlessUnknown({ () throws(StoreError) in
                        try node.shapes.latestOffset(handle: handle, stack: stack)
                    }) else { continue }
                    shapes.append(ShapeSummary(handle: handle, shape: shape, latestOffset: offset))
                }
                return .json(ShapeListResponse(shapes: shapes).json)
            }
        case .shape(let stack, let text):
            let handle = try ShapeHandle.parse(text)
            return try read { () throws(StoreError) in
                guard let shape = try node.shapes.shape(handle: handle, stack: stack) else { throw .unknownShape(handle: handle) }
                return .json(ShapeResponse(handle: handle, shape: shape,
                                           latestOffset: try node.shapes.latestOffset(handle: handle, stack: stack),
                                           snapshotXmin: try node.shapes.snapshotXmin(handle: handle, stack: stack),
                                           snapshotStarted: try node.shapes.snapshotStarted(handle: handle, stack: stack)).json)
            }
        case .removeShape(let stack, let text):
            let handle = try ShapeHandle.parse(text)
            return write { node throws(StoreError) in
                .json(LSNResponse(try await node.shapes.removeShape(handle: handle, stack: stack).lsn).json)
            }
        case .setLatestOffset(let stack, let text):
            let handle = try ShapeHandle.parse(text)
            let offset = try LatestOffsetRequest(body: request.body).offset
            return write { node throws(StoreError) in
                let outcome = try await node.shapes.setLatestOffset(offset, handle: handle, stack: stack)
                let held = try node.shapes.latestOffset(handle: handle, stack: stack)
                return .json(LatestOffsetResponse(lsn: outcome.dot, latestOffset: held).json)
            }
        case .setSnapshotXmin(let stack, let text):
            let handle = try ShapeHandle.parse(text)
            let xmin = try SnapshotXminRequest(body: request.body).xmin
            return write { node throws(StoreError) in
                let response: SnapshotXminResponse
                switch try await node.shapes.setSnapshotXmin(xmin, handle: handle, stack: stack) {
                case .ignored(let kept):
                    response = SnapshotXminResponse(lsn: nil, snapshotXmin: kept, ignored: true)
                case .written(let lsn):
                    response = SnapshotXminResponse(lsn: lsn, snapshotXmin: xmin, ignored: false)
                case .unchanged:
                    response = SnapshotXminResponse(lsn: nil, snapshotXmin: xmin, ignored: false)
                case .unknownShape:
                    throw .unknownShape(handle: handle)
                }
                return .json(response.json)
            }
        case .markSnapshotStarted(let stack, let text):
            let handle = try ShapeHandle.parse(text)
            return write { node throws(StoreError) in
                .json(LSNResponse(try await node.shapes.markSnapshotStarted(handle: handle, stack: stack).dot).json)
            }

        // MARK: Process status
        case .itemProcessed(let name):
            let keeping = try query.keeping()
            let item = try ItemProcessedRequest(body: request.body)
            return write { node throws(StoreError) in
                let lsn = try await node.processStatus(named: name, keeping: keeping).itemProcessed(entity: item.entity, timestamp: item.timestamp)
                return .json(LSNResponse(lsn).json)
            }
        case .processItems(let name):
            let keeping = try query.keeping()
            return try read { () throws(StoreError) in
                let items = try node.processStatus(named: name, keeping: keeping).load()
                return .json(ProcessItemsResponse(items: items.map { ProcessItemResponse(entity: $0.entity, timestamp: $0.timestamp) }).json)
            }
        case .processItem(let name, let entity):
            let keeping = try query.keeping()
            return try read { () throws(StoreError) in
                guard let timestamp = try node.processStatus(named: name, keeping: keeping).lastProcessed(entity: entity) else {
                    return errorResponse(HTTPError(.notFound, "entity \"\(entity.prefix(64))\" was never processed in process status "
                                                       + "\"\(name.prefix(64))\" (keeping \(keeping.rawValue))"))
                }
                return .json(ProcessItemResponse(entity: entity, timestamp: timestamp).json)
            }
        case .resetProcessStatus(let name):
            let keeping = try query.keeping()
            return write { node throws(StoreError) in
                .json(LSNResponse(try await node.processStatus(named: name, keeping: keeping).reset()).json)
            }

        // MARK: LSN trackers
        case .lastReplay(let tracker):
            try TrackerName.check(tracker)
            return try read { () throws(StoreError) in
                .json(LSNTrackerResponse(tracker: tracker, lastReplay: try node.lsnTracker(named: tracker).lastReplay()).json)
            }
        case .replicated(let tracker):
            try TrackerName.check(tracker)
            guard let text = query.value("lsn") else { throw HTTPError(.badRequest, "lsn: missing (?lsn=<16 hex digits>/<hex sequence>)") }
            let lsn = try LSN.parse(text, field: "lsn")
            return try read { () throws(StoreError) in
                .json(ReplicatedResponse(lsn: lsn, replicated: try node.lsnTracker(named: tracker).replicated(lsn)).json)
            }
        case .awaitLSN(let tracker):
            try TrackerName.check(tracker)
            let body = try AwaitLSNRequest(body: request.body)
            return write { node throws(StoreError) in
                let outcome = try await node.lsnTracker(named: tracker)
                    .requestAndAwaitNotification(body.lsn, timeout: .milliseconds(body.timeoutMillis))
                switch outcome {
                case .ready:
                    return .json(StatusResponse(status: "ready").json)
                case .timeout:
                    return errorResponse(HTTPError(.requestTimeout, code: "timeout",
                                                   "LSN \(body.lsn) did not reach this node within \(body.timeoutMillis) ms"))
                }
            }
        }
    }

    /// A read from memory, answered at once; a `StoreError` is its error answer.
    private func read(_ body: () throws(StoreError) -> HTTPResponse) throws(HTTPError) -> HTTPHandling {
        do throws(StoreError) {
            return .now(try body())
        } catch {
            throw HTTPError(error)
        }
    }

    /// A write (or a wait), answered from a task once done; a `StoreError` is its error answer.
    private func write(_ body: @escaping @Sendable (ClusterNode) async throws(StoreError) -> HTTPResponse) -> HTTPHandling {
        let node = self.node
        return .later {
            do throws(StoreError) {
                return try await body(node)
            } catch {
                return errorResponse(HTTPError(error))
            }
        }
    }

    /// `body`'s value, nil when it throws `unknownShape`.
    private static func unlessUnknown<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T? {
        do throws(StoreError) {
            return try body()
        } catch .unknownShape {
            return nil
        }
    }
}

extension HTTPError {
    /// A refusal of the stores: a client never started is 404 `client_not_started`, an unknown
    /// shape handle 404 `unknown_shape`; an argument no store keeps (a name over 1,024 bytes) 400
    /// `invalid_argument`; stores not open yet 503 `node_not_started`, a stopping node 503
    /// `node_stopped`; a write applied but not committed to disk 500 `not_persisted`, a damaged
    /// store file 500 `corrupt_store`.
    init(_ error: StoreError) {
        switch error {
        case .clientNotStarted: self.init(.notFound, code: "client_not_started", error.description)
        case .unknownShape: self.init(.notFound, code: "unknown_shape", error.description)
        case .invalidArgument: self.init(.badRequest, code: "invalid_argument", error.description)
        case .nodeNotStarted: self.init(.serviceUnavailable, code: "node_not_started", error.description)
        case .nodeStopped: self.init(.serviceUnavailable, code: "node_stopped", error.description)
        case .notPersisted: self.init(.internalServerError, code: "not_persisted", error.description)
        case .corruptStore: self.init(.internalServerError, code: "corrupt_store", error.description)
        }
    }
}
