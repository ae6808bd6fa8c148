//! The failure taxonomy: every way a probe can fail, as a [`Class`], the
//! [`PhaseName`], an exit code from [`crate::exit`], whether it is worth retrying, and
//! a message a user can act on. One constructor per class keeps the wording
//! in one place; the user-facing table is docs/database.md "Failures".

use std::io;

use super::wire::ServerError;
use crate::diag::named::named_enum;
use crate::exit;

/// Why a probe attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Where it failed.
    pub(crate) phase: PhaseName,
    /// What kind of failure, e.g. `refused`, `tls_untrusted`, `auth_failed`.
    pub class: Class,
    /// Exit code.
    pub exit_code: u8,
    /// Retry until `wait` runs out (refused, timeout, 57P03, 53300, DNS try-again).
    pub(crate) transient: bool,
    /// The message. Never contains the password.
    pub message: String,
}

named_enum! {
    /// Every class a probe failure can have: its stable name is what `probe`
    /// prints and `--json` carries. Each is listed in docs/database.md's
    /// failure table (a unit test checks).
    pub enum Class {
        Refused = "refused",
        Timeout = "timeout",
        Stalled = "stalled",
        Unreachable = "unreachable",
        Closed = "closed",
        DnsTemporary = "dns_temporary",
        DnsNotFound = "dns_not_found",
        NotPostgres = "not_postgres",
        Io = "io",
        TlsNotSupported = "tls_not_supported",
        TlsRequired = "tls_required",
        TlsUntrusted = "tls_untrusted",
        TlsHostnameMismatch = "tls_hostname_mismatch",
        TlsExpired = "tls_expired",
        TlsNotYetValid = "tls_not_yet_valid",
        TlsRevoked = "tls_revoked",
        TlsBadCertificate = "tls_bad_certificate",
        TlsIncompatible = "tls_incompatible",
        TlsClientCertificate = "tls_client_certificate",
        TlsAlert = "tls_alert",
        TlsProtocol = "tls_protocol",
        TlsBadName = "tls_bad_name",
        TlsSetup = "tls_setup",
        TlsFailed = "tls_failed",
        CleartextRefused = "cleartext_refused",
        AuthFailed = "auth_failed",
        AuthRejected = "auth_rejected",
        NoPassword = "no_password",
        AuthThrottled = "auth_throttled",
        AuthServerSignature = "auth_server_signature",
        AuthUnsupported = "auth_unsupported",
        ChannelBindingRequired = "channel_binding_required",
        DbMissing = "db_missing",
        CrdbRouting = "crdb_routing",
        CrdbClusterNotFound = "crdb_cluster_not_found",
        StartingUp = "starting_up",
        TooManyConnections = "too_many_connections",
        SessionAttrs = "session_attrs",
        ProxyRefused = "proxy_refused",
        Rejected = "rejected",
        QueryFailed = "query_failed",
        UnexpectedServer = "unexpected_server",
        NoHost = "no_host",
        LocalhostNotAllowed = "localhost_not_allowed",
        SslrootcertUnusable = "sslrootcert_unusable",
        SslcertUnusable = "sslcert_unusable",
    }
}

named_enum! {
    /// The phase of a probe: a timed step of an attempt, or where it failed
    /// (`config`: before any connection).
    pub(crate) enum PhaseName {
        Dns = "dns",
        Tcp = "tcp",
        Tls = "tls",
        Auth = "auth",
        Query = "query",
        Target = "target",
        Config = "config",
    }
}

fn f(phase: PhaseName, class: Class, exit_code: u8, transient: bool, message: String) -> Failure {
    Failure {
        phase,
        class,
        exit_code,
        transient,
        message,
    }
}

/// DNS lookup failed.
pub(crate) fn dns(host: &str, e: &io::Error) -> Failure {
    let text = e.to_string().to_ascii_lowercase();
    if text.contains("temporary") || text.contains("try again") {
        f(
            PhaseName::Dns,
            Class::DnsTemporary,
            exit::DB_NO_RESPONSE,
            true,
            format!("DNS lookup for \"{host}\" failed temporarily (no network or resolver?)"),
        )
    } else {
        f(
            PhaseName::Dns,
            Class::DnsNotFound, exit::DB_NO_RESPONSE, false, format!("cannot resolve host \"{host}\" (no such name): check for a typo, or whether the cluster was deleted or renamed"))
    }
}

/// TCP connect failed.
pub(crate) fn tcp(addr: &str, e: &io::Error) -> Failure {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => f(
            PhaseName::Tcp,
            Class::Refused, exit::DB_NO_RESPONSE, true, format!("connection refused by {addr}: nothing is listening there. Wrong port? (CockroachDB uses 26257; drivers use 5432 when the URL omits the port)")),
        io::ErrorKind::TimedOut => timeout(PhaseName::Tcp, addr, None),
        _ => f(
            PhaseName::Tcp,
            Class::Unreachable, exit::DB_NO_RESPONSE, true, format!("cannot connect to {addr}: {} (no route to the host?)", e.kind())),
    }
}

/// DNS or TCP got no answer within the attempt budget: nothing accepted the
/// connection, which is what a firewall or an IP allow-list does.
pub(crate) fn timeout(
    phase: PhaseName,
    addr: &str,
    budget: Option<std::time::Duration>,
) -> Failure {
    let within = budget
        .map(|d| format!(" within {}", crate::db::probe::render::dur(d)))
        .unwrap_or_default();
    if phase == PhaseName::Dns {
        return f(phase, Class::Timeout, exit::DB_NO_RESPONSE, true, format!("the DNS lookup for \"{addr}\" did not finish{within} (phase: dns): the resolver is slow or unreachable"));
    }
    f(phase, Class::Timeout, exit::DB_NO_RESPONSE, true, format!("no answer from {addr}{within} (phase: {phase}): the TCP connection was never accepted, likely a firewall or an IP allow-list; for CockroachDB Cloud add this host's egress IP under Networking"))
}

/// The server accepted the TCP connection, then went silent: a stuck or
/// overloaded server, a proxy with nothing behind it, or not a PostgreSQL port.
/// `step` names the request that went unanswered.
pub(crate) fn stalled(
    phase: PhaseName,
    addr: &str,
    budget: std::time::Duration,
    step: &str,
) -> Failure {
    let within = crate::db::probe::render::dur(budget);
    f(phase, Class::Stalled, exit::DB_NO_RESPONSE, true, format!("{addr} accepted the TCP connection but never answered the {step} within {within} (phase: {phase}): the server is stuck or overloaded, or something other than PostgreSQL (a proxy with nothing behind it?) listens there. The network path is open: the connection was accepted"))
}

/// The connection dropped or the peer spoke something else.
pub(crate) fn io_error(phase: PhaseName, addr: &str, e: &io::Error) -> Failure {
    match e.kind() {
        io::ErrorKind::InvalidData => f(phase, Class::NotPostgres, exit::DB_NO_RESPONSE, false, format!("{addr} answered with something that is not the PostgreSQL protocol (is this really the database port?)")),
        io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => f(phase, Class::Closed, exit::DB_NO_RESPONSE, true, format!("{addr} closed the connection during {phase}")),
        _ => f(phase, Class::Io, exit::DB_NO_RESPONSE, false, format!("connection to {addr} failed during {phase}: {}", e.kind())),
    }
}

/// The server answered SSLRequest with `N`.
pub(crate) fn tls_not_supported(addr: &str) -> Failure {
    f(
            PhaseName::Tls,
            Class::TlsNotSupported, exit::DB_TLS, false, format!("{addr} does not accept TLS (server does not support SSL), but the URL requires it. Is this the right server? For a local database without TLS use sslmode=disable or prefer"))
}

/// The server is not the kind `target_session_attrs` asks for (libpq skips
/// it and tries the next host; with none left, it fails at once).
pub(crate) fn session_attrs(message: String) -> Failure {
    f(
        PhaseName::Target,
        Class::SessionAttrs,
        exit::DB_REJECTING,
        false,
        message,
    )
}

/// Nothing to try, or a file the URL names became unusable (exit 3).
pub(crate) fn config(class: Class, message: String) -> Failure {
    f(PhaseName::Config, class, exit::CONFIG, false, message)
}

/// A TLS-level failure with its class and message.
pub(crate) fn tls(class: Class, message: String) -> Failure {
    f(PhaseName::Tls, class, exit::DB_TLS, false, message)
}

/// Authentication-phase failures the probe detects itself.
pub(crate) fn auth(class: Class, exit_code: u8, message: String) -> Failure {
    f(PhaseName::Auth, class, exit_code, false, message)
}

/// A check after login failed.
pub(crate) fn query(class: Class, exit_code: u8, message: String) -> Failure {
    f(PhaseName::Query, class, exit_code, false, message)
}

/// An ErrorResponse during startup/authentication.
pub(crate) fn startup(e: &ServerError, user: &str, db: &str, encrypted: bool) -> Failure {
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
        return auth(Class::CrdbRouting, exit::DB_MISSING, format!("CockroachDB Cloud could not tell which cluster you want {server}: use the full host name from the Connect dialog with TLS (SNI), or add options=--cluster%3D<routing-id>"));
    }
    if lower.contains("cluster") && lower.contains("not found") {
        return auth(Class::CrdbClusterNotFound, exit::DB_MISSING, format!("no such CockroachDB cluster {server}: it was deleted, or the routing id is mistyped"));
    }
    if lower.contains("throttled") {
        return auth(
            Class::AuthThrottled,
            exit::DB_AUTH,
            format!("too many failed logins from this IP {server}: fix the password, then wait"),
        );
    }
    if lower.contains("server requires encryption")
        || lower.contains("ssl connection required")
        || (!encrypted && e.code == "28000" && lower.contains("no encryption"))
    {
        return auth(Class::TlsRequired, exit::DB_TLS, format!("the server requires TLS but the connection was not encrypted {server}: add ?sslmode=verify-full (node-postgres uses plaintext when the URL has no sslmode)"));
    }
    if lower.contains("codeproxyrefusedconnection") {
        return auth(Class::ProxyRefused, exit::DB_REJECTING, format!("CockroachDB Cloud refused this client (IP allow-list or private endpoint) {server}: add this host's egress IP under Networking"));
    }
    match e.code.as_str() {
        "28P01" => auth(Class::AuthFailed, exit::DB_AUTH, format!("authentication failed for user \"{user}\" {server}: the password is wrong, was mis-decoded (check percent-encoding), or the user does not exist")),
        "28000" => auth(Class::AuthRejected, exit::DB_AUTH, format!("the server rejected user \"{user}\" for database \"{db}\" {server}: check pg_hba.conf / the user's grants")),
        "3D000" => auth(Class::DbMissing, exit::DB_MISSING, format!("database \"{db}\" does not exist {server}; CockroachDB Cloud's default is \"defaultdb\"")),
        "57P03" => f(
            PhaseName::Auth,
            Class::StartingUp, exit::DB_REJECTING, true, format!("the server is up but not yet accepting connections {server}")),
        "53300" => f(
            PhaseName::Auth,
            Class::TooManyConnections, exit::DB_REJECTING, true, format!("the server is out of connection slots {server}: reduce pool sizes (pg default 10 per service) or close idle sessions")),
        _ => auth(Class::Rejected, exit::DB_REJECTING, format!("the server refused the connection {server}")),
    }
}
