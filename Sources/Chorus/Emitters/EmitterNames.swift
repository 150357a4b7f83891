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
