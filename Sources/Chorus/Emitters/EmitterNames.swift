/// A subscription's emitter group: reckon_db's `{Store, Subscription, emitters}`.
public struct EmitterKey: Hashable, Sendable {
    public var store: String
    public var subscription: String

    public init(store: String, subscription: String) {
        self.store = store
        self.subscription = subscription
    }
}

/// Names of reckon_db's emitter groups: the group key, the pub/sub topic, the worker names.
public enum EmitterNames {
    /// The scope emitter groups live in (reckon_db: `reckon_db_pg`).
    public static let scope = "emitters"

    /// The group of `(store, subscription)`'s emitters in `scope`: reckon_db's
    /// `{Store, Subscription, emitters}` as one unambiguous name (the store's length goes first,
    /// so no store or subscription text can make two keys collide).
    public static func group(store: String, subscription: String) -> String {
        "\(store.utf8.count):\(store):\(subscription):emitters"
    }

    /// The `(store, subscription)` an emitter group's name was made from, or nil for a name not
    /// made by `group(store:subscription:)`.
    public static func key(ofGroup name: String) -> EmitterKey? {
        let utf8 = Array(name.utf8)
        guard let colon = utf8.firstIndex(of: UInt8(ascii: ":")), colon > 0, colon <= 10,
              let length = Int(String(decoding: utf8[..<colon], as: UTF8.self)) else { return nil }
        let storeStart = colon + 1, storeEnd = storeStart + length
        let suffix = Array(":emitters".utf8)
        guard storeEnd < utf8.count, utf8[storeEnd] == UInt8(ascii: ":"),
              utf8.count >= storeEnd + 1 + suffix.count, Array(utf8.suffix(suffix.count)) == suffix else { return nil }
        let store = String(decoding: utf8[storeStart..<storeEnd], as: UTF8.self)
        let subscription = String(decoding: utf8[(storeEnd + 1)..<(utf8.count - suffix.count)], as: UTF8.self)
        guard group(store: store, subscription: subscription) == name else { return nil }
        return EmitterKey(store: store, subscription: subscription)
    }

    /// The pub/sub topic of a subscription: `"<store>:<subscription>"`; the subscription `"$all"`
    /// gives `"<store>:$all"`, the topic of every event of the store.
    public static func topic(store: String, subscription: String) -> String {
        "\(store):\(subscription)"
    }

    /// The base emitter name: `<store>_<subscription>_emitter`.
    public static func emitterName(store: String, subscription: String) -> String {
        "\(store)_\(subscription)_emitter"
    }

    /// A numbered emitter name: `<store>_<subscription>_emitter_<n>`.
    public static func emitterName(store: String, subscription: String, number: Int) -> String {
        "\(store)_\(subscription)_emitter_\(number)"
    }

    /// The names of a pool of `poolSize` emitters: the base name, then `_emitter_2` to `_emitter_<poolSize>`.
    public static func pool(store: String, subscription: String, size poolSize: Int) -> [String] {
        guard poolSize >= 1 else { return [] }
        return [emitterName(store: store, subscription: subscription)]
            + (1 < poolSize ? (2...poolSize).map { emitterName(store: store, subscription: subscription, number: $0) } : [])
    }
}
