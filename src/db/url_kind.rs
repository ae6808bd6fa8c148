//! What is wrong with a database URL, as a closed set: the code decides on
//! it (which problems a service may fix before the gate, whether the text
//! itself is broken), and prints or serializes its stable name (`check`,
//! `probe --json` `"kind"`). The names are part of the output contract.

use crate::diag::named::named_enum;

named_enum! {
    /// The kind of a [`super::UrlError`]; [`UrlKind::as_str`] is its stable name.
    pub enum UrlKind {
        Ambiguous = "ambiguous",
        BadIpv6 = "bad_ipv6",
        BadParameterValue = "bad_parameter_value",
        BadPercentEncoding = "bad_percent_encoding",
        BadPort = "bad_port",
        BadQuery = "bad_query",
        BadScheme = "bad_scheme",
        BadSslmode = "bad_sslmode",
        CockroachPortMissing = "cockroach_port_missing",
        CockroachTlsMissing = "cockroach_tls_missing",
        Empty = "empty",
        Internal = "internal",
        KnownFallback = "known_fallback",
        LocalhostNotAllowed = "localhost_not_allowed",
        NodePgInvalidUrl = "node_pg_invalid_url",
        NodePgMultiHost = "node_pg_multi_host",
        NodePgVerifyCaWithoutRoot = "node_pg_verify_ca_without_root",
        Placeholder = "placeholder",
        PortCountMismatch = "port_count_mismatch",
        SslcertMissing = "sslcert_missing",
        SslkeyMissing = "sslkey_missing",
        SslkeyPermissions = "sslkey_permissions",
        SslrootcertMissing = "sslrootcert_missing",
        SslrootcertNotPem = "sslrootcert_not_pem",
        SslrootcertSystem = "sslrootcert_system",
        SslrootcertUnexpanded = "sslrootcert_unexpanded",
        SslrootcertUnreadable = "sslrootcert_unreadable",
        TlsNotRequired = "tls_not_required",
        UnencodedReserved = "unencoded_reserved",
        UnknownParameter = "unknown_parameter",
        Whitespace = "whitespace",
    }
}

impl UrlKind {
    /// A certificate or key file the URL names does not exist (yet): a service
    /// that starts before the gate may create it.
    pub(crate) fn is_missing_file(self) -> bool {
        matches!(
            self,
            UrlKind::SslrootcertMissing | UrlKind::SslcertMissing | UrlKind::SslkeyMissing
        )
    }
}
