import ChorusLoop

/// Who may reach a node's admin API: its address, whether that address may be other than
/// loopback (`admin_allow_remote:`), and the bearer token it asks for (`admin_token_file:`).
public enum AdminAccess {
    /// Rule: the admin API is loopback by default. An address other machines can reach
    /// (anything but 127.0.0.0/8 and ::1, the wildcard `0.0.0.0` included) is refused unless the
    /// config says so (`allowRemote`) and a token file is set, so that an API which can change
    /// the cluster is never open to the network without a token. `field` names where the
    /// address came from (`nodes[1].admin`, `--admin`).
    public static func check(admin: SocketAddress, allowRemote: Bool, tokenFile: String?, field: String) throws(ConfigError) {
        guard !admin.isLoopback else { return }
        guard allowRemote else {
            throw ConfigError(field: field, problem: "\(admin) is not a loopback address, and the admin API is loopback only by default "
                                  + "(it can change the cluster); keep it on 127.0.0.1, or set admin_allow_remote: true "
                                  + "and admin_token_file: FILE to serve it beyond this machine with a bearer token")
        }
        guard tokenFile != nil else {
            throw ConfigError(field: field, problem: "\(admin) is not a loopback address: admin_allow_remote needs admin_token_file "
                                  + "too, so that other machines must present a bearer token")
        }
    }
}
