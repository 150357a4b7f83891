import Chorus
import ChorusLoop
import ChorusWire
#if canImport(Glibc)
import Glibc
#endif

/// The admin API's routes for process groups, emitter broadcast, topics and recorders: each
/// reads its request whole before it changes anything, so a refused request changes nothing.
extension AdminResponder {
    /// `GET /v1/scopes/{scope}/groups`; a scope name no join could take is 400 `invalid_name`.
    func scopeGroups(_ scope: String) throws(HTTPError) -> HTTPHandling {
        do throws(GroupsError) { try GroupsInstance.validate(scope: scope) } catch { throw HTTPError(error) }
        let node = self.node
        return .later {
            let view = await node.scopeView(scope: scope)
            return .json(ScopeResponse(groups: view.groups, localGroups: view.localGroups).json)
        }
    }

    /// `GET /v1/scopes/{scope}/groups/{group}`; names no join could take are 400 `invalid_name`.
    func groupMembers(scope: String, group: String) throws(HTTPError) -> HTTPHandling {
        do throws(GroupsError) { try GroupsInstance.validate(scope: scope, group: group) } catch { throw HTTPError(error) }
        let node = self.node
        return .later {
            let view = await node.groupView(scope: scope, group: group)
            return .json(GroupResponse(members: view.members, localMembers: view.localMembers).json)
        }
    }

    /// `POST .../members` and `.../subscribers`: joins the member of the body to the group, or
    /// makes a recorder and joins it (201); a recorder whose join is refused is ended at once.
    func addMember(_ request: HTTPRequest, scope: String, group: String) throws(HTTPError) -> HTTPHandling {
        let body = try MemberRequest(body: request.body)
        let node = self.node, recorders = self.recorders
        return .later {
            do throws(HTTPError) {
                if let member = body.member {
                    do throws(GroupsError) {
                        try await node.join(scope: scope, group: group, members: [member])
                    } catch {
                        throw HTTPError(error)
                    }
                    return .json(GroupMemberResponse(member: member, scope: scope, group: group).json)
                }
                let recorder: GroupMemberID
                do throws(RecorderError) { recorder = try recorders.make() } catch { throw HTTPError(error) }
                do throws(GroupsError) {
                    try await node.join(scope: scope, group: group, members: [recorder])
                } catch {
                    try? recorders.end(recorder)
                    throw HTTPError(error)
                }
                return .json(GroupMemberResponse(member: recorder, scope: scope, group: group).json, status: .created)
            } catch {
                return errorResponse(error)
            }
        }
    }

    /// `DELETE /v1/scopes/{scope}/groups/{group}/members/{member}`: one leave.
    func leave(scope: String, group: String, member text: String) throws(HTTPError) -> HTTPHandling {
        let member = try GroupMemberID.parse(text, field: "member")
        let node = self.node
        return .later {
            do throws(GroupsError) {
                try await node.leave(scope: scope, group: group, members: [member])
            } catch .notJoined {
                return errorResponse(HTTPError(.notFound, code: "not_joined",
                                               "member \(member) is not in group \"\(group.prefix(64))\" of scope \"\(scope.prefix(64))\""))
            } catch {
                return errorResponse(HTTPError(error))
            }
            return .json(GroupMemberResponse(member: member, scope: scope, group: group).json)
        }
    }

    /// `POST /v1/emitters/{store}/{subscription}/broadcast[?ack=true]`.
    func broadcast(_ request: HTTPRequest, _ query: QueryReader, store: String, subscription: String) throws(HTTPError) -> HTTPHandling {
        let acknowledged = try query.bool("ack") ?? false
        let timeout = try query.integer("timeout_ms", in: 1...60_000)
        let attemptTimeout = try query.integer("attempt_timeout_ms", in: 1...60_000)
        guard acknowledged || (timeout == nil && attemptTimeout == nil) else {
            throw HTTPError(.badRequest, "timeout_ms and attempt_timeout_ms apply to acknowledged broadcasts only (ack=true)")
        }
        let event = try EventRequest(body: request.body, nowMicros: WallClock.nowMicros()).event
        let node = self.node
        return .later {
            do throws(EmitterError) {
                let receipt = acknowledged
                    ? try await node.broadcastAcknowledged(store: store, subscription: subscription, event: event,
                                                           timeout: .milliseconds(timeout ?? 5000),
                                                           attemptTimeout: .milliseconds(attemptTimeout ?? 1000))
                    : try node.broadcast(store: store, subscription: subscription, event: event)
                return .json(BroadcastResponse(receipt).json)
            } catch {
                return errorResponse(HTTPError(error))
            }
        }
    }

    /// `POST /v1/topics/{topic}/publish`; a topic no subscription could name is 400 `invalid_name`.
    func publish(_ request: HTTPRequest, topic: String) throws(HTTPError) -> HTTPHandling {
        do throws(GroupsError) { try GroupsInstance.validate(scope: TopicNames.scope, group: topic) } catch { throw HTTPError(error) }
        let payload = try PublishRequest(body: request.body).payload
        let node = self.node
        return .later {
            do throws(GroupsError) {
                return .json(PublishResponse(nodes: try node.publish(topic, payload)).json)
            } catch {
                return errorResponse(HTTPError(error))
            }
        }
    }

    /// `DELETE /v1/recorders/{member}`.
    func endRecorder(_ text: String) throws(HTTPError) -> HTTPHandling {
        let member = try GroupMemberID.parse(text, field: "member")
        do throws(RecorderError) { try recorders.end(member) } catch { throw HTTPError(error) }
        return .now(.json(StatusResponse(status: "ended", message: "recorder \(member) left every group it was in").json))
    }

    /// `GET /v1/recorders/{member}/messages[?after=N&limit=M]`.
    func recordedMessages(_ query: QueryReader, member text: String) throws(HTTPError) -> HTTPHandling {
        let member = try GroupMemberID.parse(text, field: "member")
        let after = try query.integer("after", in: 0...UInt64.max) ?? 0
        let most = UInt64(max(1, recorders.limits.messagesPerRecorder))
        let limit = try query.integer("limit", in: 1...most) ?? most
        do throws(RecorderError) {
            let page = try recorders.messages(of: member, after: after, limit: Int(limit))
            return .now(.json(RecordedMessagesResponse(page).json))
        } catch {
            throw HTTPError(error)
        }
    }
}

extension HTTPError {
    /// A refusal of the groups API: a member of another node is 409 `not_local`; `not_joined`
    /// and an ended member (`member_ended`) are 404; a bad scope or group name is 400
    /// `invalid_name`; a stopped node is 503 `node_stopped`.
    init(_ error: GroupsError) {
        switch error {
        case .notLocal(let member):
            self.init(.conflict, code: "not_local", "member \(member) belongs to another node; only a node's own members join or leave through it")
        case .notJoined:
            self.init(.notFound, code: "not_joined", error.description)
        case .memberEnded(let member):
            self.init(.notFound, code: "member_ended", "member \(member) is not a live member of this node (it ended, or never existed)")
        case .nodeStopped:
            self.init(.serviceUnavailable, code: "node_stopped", error.description)
        case .invalidScope, .invalidGroup:
            self.init(.badRequest, code: "invalid_name", error.description)
        case .payloadTooLarge:
            self.init(.contentTooLarge, code: "payload_too_large", error.description)
        }
    }

    /// A broadcast that did not go out: an empty emitter group is 409 `no_emitters`; no ack in
    /// time is 504 `not_acknowledged`; a stopped node is 503 `node_stopped`.
    init(_ error: EmitterError) {
        switch error {
        case .noEmitters: self.init(.conflict, code: "no_emitters", error.description)
        case .notAcknowledged: self.init(.gatewayTimeout, code: "not_acknowledged", error.description)
        case .nodeStopped: self.init(.serviceUnavailable, code: "node_stopped", error.description)
        case .invalidEvent: self.init(.badRequest, code: "invalid_event", error.description)
        }
    }

    /// An unknown recorder is 404 `unknown_recorder`; one recorder too many, 409 `too_many_recorders`.
    init(_ error: RecorderError) {
        switch error {
        case .unknown: self.init(.notFound, code: "unknown_recorder", error.description)
        case .tooMany: self.init(.conflict, code: "too_many_recorders", error.description)
        case .journal: self.init(.internalServerError, code: "journal_unavailable", error.description)
        }
    }
}

/// The wall clock, for the timestamps of events whose request leaves them out.
enum WallClock {
    /// Microseconds since the Unix epoch.
    static func nowMicros() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
    }
}
