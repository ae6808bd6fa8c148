//! The failure taxonomy: every way a probe can fail, as a class name, the
//! phase, an exit code from [`crate::exit`], whether it is worth retrying, and
//! a message a user can act on. One constructor per class keeps the wording
//! in one place; the user-facing table is docs/database.md "Failures".

use std::io;

use super::wire::ServerError;
use crate::exit;

/// Why a probe attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Phase: `dns`, `tcp`, `tls`, `auth`, `query`, `config`.
    pub phase: &'static str,
    /// Stable class name, e.g. `refused`, `tls_untrusted`, `auth_failed`.
    pub class: &'static str,
    /// Exit code.
    pub exit_code: u8,
    /// Retry until `wait` runs out (refused, timeout, 57P03, 53300, DNS try-again).
    pub transient: bool,
    /// The message. Never contains the password.
    pub message: String,
}

/// Every class a probe failure can have. Each is listed in docs/database.md's failure
/// table (a unit test checks), and [`f`] refuses any other in debug builds.
#[rustfmt::skip]
pub const CLASSES: &[&str] = &[
    "refused", "timeout", "stalled", "unreachable", "closed", "dns_temporary", "dns_not_found",
    "not_postgres", "io",
    "tls_not_supported", "tls_required", "tls_untrusted", "tls_hostname_mismatch", "tls_expired",
    "tls_not_yet_valid", "tls_revoked", "tls_bad_certificate", "tls_incompatible",
    "tls_client_certificate", "tls_alert", "tls_protocol", "tls_bad_name", "tls_setup",
    "tls_failed", "cleartext_refused",
    "auth_failed", "auth_rejected", "no_password", "auth_throttled", "auth_server_signature",
    "auth_unsupported", "channel_binding_required",
    "db_missing", "crdb_routing", "crdb_cluster_not_found",
    "starting_up", "too_many_connections", "session_attrs", "proxy_refused", "rejected",
    "query_failed", "unexpected_server",
    "no_host", "localhost_not_allowed", "sslrootcert_unusable", "sslcert_unusable",
];

fn f(
    phase: &'static str,
    class: &'static str,
    exit_code: u8,
    transient: bool,
    message: String,
) -> Failure {
    debug_assert!(
        CLASSES.contains(&class),
        "failure class {class} is not in CLASSES"
    );
    Failure {
        phase,
        class,
        exit_code,
        transient,
        message,
    }
}

/// DNS lookup failed.
pub fn dns(host: &str, e: &io::Error) -> Failure {
    let text = e.to_string().to_ascii_lowercase();
    if text.contains("temporary") || text.contains("try again") {
        f(
            "dns",
            "dns_temporary",
            exit::DB_NO_RESPONSE,
            true,
            format!("DNS lookup for \"{host}\" failed temporarily (no network or resolver?)"),
        )
    } else {
        f("dns", "dns_not_found", exit::DB_NO_RESPONSE, false, format!("cannot resolve host \"{host}\" (no such name): check for a typo, or whether the cluster was deleted or renamed"))
    }
}

/// TCP connect failed.
pub fn tcp(addr: &str, e: &io::Error) -> Failure {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => f("tcp", "refused", exit::DB_NO_RESPONSE, true, format!("connection refused by {addr}: nothing is listening there. Wrong port? (CockroachDB uses 26257; drivers use 5432 when the URL omits the port)")),
        io::ErrorKind::TimedOut => timeout("tcp", addr, None),
        _ => f("tcp", "unreachable", exit::DB_NO_RESPONSE, true, format!("cannot connect to {addr}: {} (no route to the host?)", e.kind())),
    }
}

/// DNS or TCP got no answer within the attempt budget: nothing accepted the
/// connection, which is what a firewall or an IP allow-list does.
pub fn timeout(phase: &'static str, addr: &str, budget: Option<std::time::Duration>) -> Failure {
    let within = budget
        .map(|d| format!(" within {}", crate::db::probe::render::dur(d)))
        .unwrap_or_default();
    if phase == "dns" {
        return f(phase, "timeout", exit::DB_NO_RESPONSE, true, format!("the DNS lookup for \"{addr}\" did not finish{within} (phase: dns): the resolver is slow or unreachable"));
    }
    f(phase, "timeout", exit::DB_NO_RESPONSE, true, format!("no answer from {addr}{within} (phase: {phase}): the TCP connection was never accepted, likely a firewall or an IP allow-list; for CockroachDB Cloud add this host's egress IP under Networking"))
}

/// The server accepted the TCP connection, then went silent: a stuck or
/// overloaded server, a proxy with nothing behind it, or not a PostgreSQL port.
/// `step` names the request that went unanswered.
pub fn stalled(
    phase: &'static str,
    addr: &str,
    budget: std::time::Duration,
    step: &str,
) -> Failure {
    let within = crate::db::probe::render::dur(budget);
    f(phase, "stalled", exit::DB_NO_RESPONSE, true, format!("{addr} accepted the TCP connection but never answered the {step} within {within} (phase: {phase}): the server is stuck or overloaded, or something other than PostgreSQL (a proxy with nothing behind it?) listens there. The network path is open: the connection was accepted"))
}

/// The connection dropped or the peer spoke something else.
pub fn io_error(phase: &'static str, addr: &str, e: &io::Error) -> Failure {
    match e.kind() {
        io::ErrorKind::InvalidData => f(phase, "not_postgres", exit::DB_NO_RESPONSE, false, format!("{addr} answered with something that is not the PostgreSQL protocol (is this really the database port?)")),
        io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => f(phase, "closed", exit::DB_NO_RESPONSE, true, format!("{addr} closed the connection during {phase}")),
        _ => f(phase, "io", exit::DB_NO_RESPONSE, false, format!("connection to {addr} failed during {phase}: {}", e.kind())),
    }
}

/// The server answered SSLRequest with `N`.
pub fn tls_not_supported(addr: &str) -> Failure {
    f("tls", "tls_not_supported", exit::DB_TLS, false, format!("{addr} does not accept TLS (server does not support SSL), but the URL requires it. Is this the right server? For a local database without TLS use sslmode=disable or prefer"))
}

/// The server is not the kind `target_session_attrs` asks for (libpq skips
/// it and tries the next host; with none left, it fails at once).
pub fn session_attrs(message: String) -> Failure {
    f(
        "target",
        "session_attrs",
        exit::DB_REJECTING,
        false,
        message,
    )
}

/// Nothing to try, or a file the URL names became unusable (exit 3).
pub fn config(class: &'static str, message: String) -> Failure {
    f("config", class, exit::CONFIG, false, message)
}

/// A TLS-level failure with its class and message.
pub fn tls(class: &'static str, message: String) -> Failure {
    f("tls", class, exit::DB_TLS, false, message)
}

/// Authentication-phase failures the probe detects itself.
pub fn auth(class: &'static str, exit_code: u8, message: String) -> Failure {
    f("auth", class, exit_code, false, message)
}

/// A check after login failed.
pub fn query(class: &'static str, exit_code: u8, message: String) -> Failure {
    f("query", class, exit_code, false, message)
}

/// An ErrorResponse during startup/authentication.
pub fn startup(e: &ServerError, user: &str, db: &str, encrypted: bool) -> Failure {
    let m = e.message.as_str();
    let lower = m.to_ascii_lowercase();
    let server = format!("(SQLSTATE {}: {m})", e.code);
    if [
        "missing cluster identifier",
        "invalid cluster identifier",
        "multiple different cluster identifiers",
    ]
    .iter()
    .any(|s| lower.contains(s))
    {
        return auth("crdb_routing", exit::DB_MISSING, format!("CockroachDB Cloud could not tell which cluster you want {server}: use the full host name from the Connect dialog with TLS (SNI), or add options=--cluster%3D<routing-id>"));
    }
    if lower.contains("cluster") && lower.contains("not found") {
        return auth("crdb_cluster_not_found", exit::DB_MISSING, format!("no such CockroachDB cluster {server}: it was deleted, or the routing id is mistyped"));
    }
    if lower.contains("throttled") {
        return auth(
            "auth_throttled",
            exit::DB_AUTH,
            format!("too many failed logins from this IP {server}: fix the password, then wait"),
        );
    }
    if lower.contains("server requires encryption")
        || lower.contains("ssl connection required")
        || (!encrypted && e.code == "28000" && lower.contains("no encryption"))
    {
        return auth("tls_required", exit::DB_TLS, format!("the server requires TLS but the connection was not encrypted {server}: add ?sslmode=verify-full (node-postgres uses plaintext when the URL has no sslmode)"));
    }
    if lower.contains("codeproxyrefusedconnection") {
        return auth("proxy_refused", exit::DB_REJECTING, format!("CockroachDB Cloud refused this client (IP allow-list or private endpoint) {server}: add this host's egress IP under Networking"));
    }
    match e.code.as_str() {
        "28P01" => auth("auth_failed", exit::DB_AUTH, format!("authentication failed for user \"{user}\" {server}: the password is wrong, was mis-decoded (check percent-encoding), or the user does not exist")),
        "28000" => auth("auth_rejected", exit::DB_AUTH, format!("the server rejected user \"{user}\" for database \"{db}\" {server}: check pg_hba.conf / the user's grants")),
        "3D000" => auth("db_missing", exit::DB_MISSING, format!("database \"{db}\" does not exist {server}; CockroachDB Cloud's default is \"defaultdb\"")),
        "57P03" => f("auth", "starting_up", exit::DB_REJECTING, true, format!("the server is up but not yet accepting connections {server}")),
        "53300" => f("auth", "too_many_connections", exit::DB_REJECTING, true, format!("the server is out of connection slots {server}: reduce pool sizes (pg default 10 per service) or close idle sessions")),
        _ => auth("rejected", exit::DB_REJECTING, format!("the server refused the connection {server}")),
    }
}
