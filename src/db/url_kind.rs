//! What is wrong with a database URL, as a closed set: the code decides on
//! it (which problems a service may fix before the gate, whether the text
//! itself is broken), and prints or serializes its stable name (`check`,
//! `probe --json` `"kind"`). The names are part of the output contract.

use std::fmt;

macro_rules! url_kinds {
    ($($variant:ident = $name:literal,)*) => {
        /// The kind of a [`super::UrlError`]; [`UrlKind::as_str`] is its stable name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum UrlKind {
            $(
                #[doc = concat!("`", $name, "`")]
                $variant,
            )*
        }

        impl UrlKind {
            /// The stable name, as printed and serialized.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(UrlKind::$variant => $name,)*
                }
            }
        }
    };
}

url_kinds! {
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

impl fmt::Display for UrlKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for UrlKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
