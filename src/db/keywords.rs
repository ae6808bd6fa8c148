//! libpq's connection keywords (the `PQconninfoOptions` table) and the value
//! checks libpq applies to them, plus which ones are safe to print.
//!
//! libpq rejects a URI query parameter that is not in this table
//! (`invalid URI query parameter`), so the table is part of "what the child
//! will do". Redaction is by allow-list: only [`is_printable`] keys show their
//! value; everything else (secrets, unknown keys) prints as `****`.

/// Every keyword libpq accepts (PostgreSQL 18).
#[rustfmt::skip]
pub(super) const KEYWORDS: &[&str] = &[
    "service", "user", "password", "passfile", "channel_binding", "connect_timeout",
    "dbname", "host", "hostaddr", "port", "client_encoding", "options",
    "application_name", "fallback_application_name", "keepalives", "keepalives_idle",
    "keepalives_interval", "keepalives_count", "tcp_user_timeout", "sslmode",
    "sslnegotiation", "sslcompression", "sslcert", "sslkey", "sslcertmode", "sslpassword",
    "sslkeylogfile", "sslrootcert", "sslcrl", "sslcrldir", "sslsni", "requirepeer",
    "require_auth", "min_protocol_version", "max_protocol_version",
    "ssl_min_protocol_version", "ssl_max_protocol_version", "gssencmode", "krbsrvname",
    "gsslib", "gssdelegation", "replication", "target_session_attrs", "load_balance_hosts",
    "scram_client_key", "scram_server_key", "oauth_issuer", "oauth_client_id",
    "oauth_client_secret", "oauth_scope",
];

/// Keys whose value is safe to print (paths, modes, numbers, names).
#[rustfmt::skip]
const PRINTABLE: &[&str] = &[
    "user", "dbname", "host", "hostaddr", "port", "sslmode", "sslrootcert", "sslcert",
    "sslkey", "sslcrl", "sslcrldir", "sslsni", "sslnegotiation", "sslcertmode",
    "sslcompression", "application_name", "fallback_application_name", "connect_timeout",
    "target_session_attrs", "load_balance_hosts", "channel_binding", "gssencmode",
    "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count",
    "tcp_user_timeout", "client_encoding", "ssl_min_protocol_version",
    "ssl_max_protocol_version", "min_protocol_version", "max_protocol_version",
    "require_auth", "replication", "krbsrvname", "gsslib", "gssdelegation",
    "uselibpqcompat", "ssl", "options",
];

/// The sslmode values libpq accepts.
pub(super) const SSLMODES: &[&str] = &[
    "disable",
    "allow",
    "prefer",
    "require",
    "verify-ca",
    "verify-full",
];

/// Whether libpq knows `key`.
pub(super) fn is_known(key: &str) -> bool {
    KEYWORDS.contains(&key)
}

/// Whether `key`'s value may be printed. `options` is printable only when it
/// holds nothing that looks like a credential.
pub(super) fn is_printable(key: &str, value: &str) -> bool {
    if !PRINTABLE.contains(&key) {
        return false;
    }
    key != "options" || !crate::secret::looks_secret(value)
}

/// A value libpq would refuse: `(what is wrong, what is allowed)`. Never
/// includes the value itself.
pub(super) fn check_value(key: &str, value: &str) -> Option<String> {
    let one_of = |allowed: &[&str]| {
        (!allowed.contains(&value)).then(|| format!("must be one of {}", allowed.join(", ")))
    };
    let integer = || {
        value
            .trim()
            .parse::<i64>()
            .err()
            .map(|_| "must be an integer".to_string())
    };
    match key {
        "sslmode" => one_of(SSLMODES),
        "channel_binding" => one_of(&["disable", "prefer", "require"]),
        "gssencmode" => one_of(&["disable", "prefer", "require"]),
        "sslnegotiation" => one_of(&["postgres", "direct"]),
        "sslcertmode" => one_of(&["disable", "allow", "require"]),
        "sslsni" | "keepalives" | "sslcompression" => one_of(&["0", "1"]),
        "load_balance_hosts" => one_of(&["disable", "random"]),
        "target_session_attrs" => one_of(&[
            "any",
            "read-write",
            "read-only",
            "primary",
            "standby",
            "prefer-standby",
        ]),
        "ssl_min_protocol_version" | "ssl_max_protocol_version" => {
            one_of(&["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3", ""])
        }
        "connect_timeout"
        | "keepalives_idle"
        | "keepalives_interval"
        | "keepalives_count"
        | "tcp_user_timeout" => integer(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_and_checks() {
        assert!(is_known("sslrootcert"));
        assert!(!is_known("uzer"));
        assert!(!is_known("uselibpqcompat"));
        assert!(check_value("sslmode", "verify-full").is_none());
        assert!(check_value("sslmode", "verify_full").is_some());
        assert!(check_value("connect_timeout", "ten").is_some());
        assert!(check_value("connect_timeout", "10").is_none());
        assert!(is_printable("sslmode", "require"));
        assert!(!is_printable("password", "x"));
        assert!(!is_printable("sslpassword", "x"));
        assert!(!is_printable("uzer", "x"));
        assert!(!is_printable("options", "-c my.password=x"));
        assert!(is_printable("options", "--cluster=lazy-roach-3"));
    }
}
