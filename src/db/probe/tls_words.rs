//! rustls and webpki errors in words a user can act on. Every kind the TLS
//! stack can report maps to a failure class and a sentence; no Debug string
//! of an error type ever reaches the user (a unit test walks the kinds).

use rustls::{AlertDescription, CertificateError, Error, OtherError, PeerIncompatible};

use super::failure::{self, Class, Failure, PhaseName};
use super::tls::trust_label;
use crate::db::view::Trust;

/// Map a failed handshake to the taxonomy.
pub(super) fn classify(e: &std::io::Error, host: &str, addr: &str, trust: &Trust) -> Failure {
    match e.get_ref().and_then(|i| i.downcast_ref::<Error>()) {
        Some(err) => describe(err, host, addr, trust),
        None => failure::io_error(PhaseName::Tls, addr, e),
    }
}

/// One rustls error as a failure.
pub(super) fn describe(err: &Error, host: &str, addr: &str, trust: &Trust) -> Failure {
    match err {
        Error::InvalidCertificate(c) => certificate(c, host, trust),
        Error::AlertReceived(a) => alert(*a, addr),
        Error::InvalidMessage(_)
        | Error::InappropriateMessage { .. }
        | Error::InappropriateHandshakeMessage { .. }
        | Error::PeerSentOversizedRecord => failure::io_error(PhaseName::Tls,
            addr,
            &std::io::Error::new(std::io::ErrorKind::InvalidData, ""),
        ),
        Error::PeerIncompatible(p) => failure::tls(Class::TlsIncompatible, format!("{addr} and the probe have no TLS settings in common ({}). rustls speaks TLS 1.2 and 1.3 with modern ciphers, as current libpq and Node do: raise the server's ssl_min_protocol_version / ssl_ciphers", incompatible(p))),
        Error::NoCertificatesPresented => failure::tls(Class::TlsBadCertificate, format!("{addr} sent no certificate, so it cannot be verified")),
        Error::DecryptError | Error::PeerMisbehaved(_) | Error::InvalidEncryptedClientHello(_) | Error::NoApplicationProtocol | Error::BadMaxFragmentSize => failure::tls(Class::TlsProtocol, format!("{addr} broke the TLS protocol during the handshake (a proxy or middlebox in between, or not a TLS server?)")),
        Error::UnsupportedNameType => failure::tls(Class::TlsBadName, format!("\"{host}\" cannot be used as a TLS server name")),
        Error::InvalidCertRevocationList(_) => failure::tls(Class::TlsRevoked, format!("the revocation status of the certificate for {host} could not be checked")),
        _ => failure::tls(Class::TlsFailed, format!("the TLS handshake with {addr} failed inside the TLS library (no system time, no randomness, or a bad client certificate/key pair)")),
    }
}

fn untrusted(host: &str, trust: &Trust) -> String {
    format!("the server certificate for {host} is not signed by a trusted CA (trust store: {}). Set sslrootcert=<CA file> in the URL (node-postgres never reads ~/.postgresql/root.crt)", trust_label(trust))
}

fn certificate(c: &CertificateError, host: &str, trust: &Trust) -> Failure {
    let bad = |why: &str| {
        failure::tls(
            Class::TlsBadCertificate,
            format!("the server certificate for {host} was rejected: {why}"),
        )
    };
    match c {
        CertificateError::UnknownIssuer | CertificateError::BadSignature => failure::tls(Class::TlsUntrusted, untrusted(host, trust)),
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => failure::tls(Class::TlsHostnameMismatch, format!("the server certificate is not valid for \"{host}\" (host name mismatch). Use the exact host name the certificate was issued for (its subjectAltName, or its CN when it has no DNS name)")),
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => failure::tls(Class::TlsExpired, format!("the server certificate for {host} has expired")),
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => failure::tls(Class::TlsNotYetValid, format!("the server certificate for {host} is not valid yet: check this machine's clock")),
        CertificateError::Revoked => failure::tls(Class::TlsRevoked, format!("the server certificate for {host} has been revoked")),
        CertificateError::UnknownRevocationStatus | CertificateError::ExpiredRevocationList | CertificateError::ExpiredRevocationListContext { .. } | CertificateError::InvalidOcspResponse => failure::tls(Class::TlsRevoked, format!("the revocation status of the certificate for {host} could not be checked")),
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => bad("it is not meant for a TLS server (its keyUsage/extendedKeyUsage exclude serverAuth; a CA certificate with keyCertSign only cannot be the server's own). Issue a server certificate with extendedKeyUsage=serverAuth"),
        CertificateError::BadEncoding => bad("it is not a well-formed X.509 certificate"),
        CertificateError::UnhandledCriticalExtension => bad("it has a critical extension that TLS clients do not understand"),
        #[allow(deprecated)]
        CertificateError::UnsupportedSignatureAlgorithm | CertificateError::UnsupportedSignatureAlgorithmContext { .. } | CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => bad("it is signed with an algorithm the probe does not accept (MD5, SHA-1, or a key too small); reissue it with SHA-256 and RSA ≥ 2048 bits or ECDSA"),
        CertificateError::Other(OtherError(inner)) => match inner.downcast_ref::<webpki::Error>() {
            Some(w) => bad(&webpki_words(w, trust)),
            None => bad("the certificate check failed"),
        },
        _ => bad("the certificate check failed"),
    }
}

/// The webpki errors rustls passes through as `Other`.
fn webpki_words(w: &webpki::Error, trust: &Trust) -> String {
    use webpki::Error as W;
    match w {
        W::CaUsedAsEndEntity => format!("it is a CA certificate (basicConstraints CA:TRUE) presented as the server's own, and not one of the certificates in the trust store ({}). With a self-signed certificate, set sslrootcert to that same certificate file", trust_label(trust)),
        W::EndEntityUsedAsCa => "the chain uses a certificate that is not a CA (CA:FALSE) as an issuer".into(),
        W::PathLenConstraintViolated | W::MaximumPathDepthExceeded => "the chain is longer than an issuer's pathLenConstraint (or the depth limit) allows".into(),
        W::MaximumPathBuildCallsExceeded | W::MaximumSignatureChecksExceeded | W::MaximumNameConstraintComparisonsExceeded => "the chain is too complex to verify (too many candidate issuers)".into(),
        W::NameConstraintViolation | W::MalformedNameConstraint | W::InvalidNetworkMaskConstraint => "an issuer's name constraints do not allow this name".into(),
        W::UnsupportedCertVersion => "it is not an X.509 v3 certificate".into(),
        W::UnsupportedCriticalExtension => "it has a critical extension that TLS clients do not understand".into(),
        W::CertDistrusted => "its issuer is explicitly distrusted".into(),
        #[allow(deprecated)]
        W::EmptyEkuExtension | W::RequiredEkuNotFound | W::RequiredEkuNotFoundContext(_) => "its extendedKeyUsage does not include serverAuth".into(),
        W::SignatureAlgorithmMismatch => "its signature algorithm fields disagree".into(),
        W::InvalidSerialNumber => "its serial number is invalid".into(),
        _ => "it is malformed (bad encoding, extension or name)".into(),
    }
}

fn incompatible(p: &PeerIncompatible) -> &'static str {
    match p {
        PeerIncompatible::ServerDoesNotSupportTls12Or13
        | PeerIncompatible::ServerTlsVersionIsDisabledByOurConfig
        | PeerIncompatible::Tls12NotOffered
        | PeerIncompatible::Tls12NotOfferedOrEnabled
        | PeerIncompatible::Tls13RequiredForQuic
        | PeerIncompatible::SupportedVersionsExtensionRequired => "no common TLS version",
        PeerIncompatible::NoCipherSuitesInCommon => "no common cipher suite",
        PeerIncompatible::NoKxGroupsInCommon
        | PeerIncompatible::NoEcPointFormatsInCommon
        | PeerIncompatible::UncompressedEcPointsRequired => "no common key exchange group",
        PeerIncompatible::NoSignatureSchemesInCommon
        | PeerIncompatible::SignatureAlgorithmsExtensionRequired => "no common signature scheme",
        _ => "an incompatible handshake",
    }
}

fn alert(a: AlertDescription, addr: &str) -> Failure {
    let (class, why) = match a {
        AlertDescription::HandshakeFailure | AlertDescription::InsufficientSecurity | AlertDescription::ProtocolVersion => (Class::TlsIncompatible, "no TLS version or cipher in common: raise the server's ssl_min_protocol_version / ssl_ciphers"),
        AlertDescription::CertificateRequired => (Class::TlsClientCertificate, "the server requires a client certificate: set sslcert and sslkey"),
        AlertDescription::BadCertificate | AlertDescription::UnsupportedCertificate | AlertDescription::CertificateRevoked | AlertDescription::CertificateExpired | AlertDescription::CertificateUnknown | AlertDescription::UnknownCA | AlertDescription::AccessDenied => (Class::TlsClientCertificate, "the server rejected the client certificate (sslcert/sslkey): not signed by the server's ssl_ca_file, expired, or not allowed"),
        AlertDescription::NoApplicationProtocol => (Class::TlsAlert, "the server does not accept ALPN \"postgresql\" (sslnegotiation=direct needs PostgreSQL 17+)"),
        AlertDescription::UnrecognisedName => (Class::TlsAlert, "the server does not know the host name sent as SNI"),
        _ => (Class::TlsAlert, "the server ended the TLS handshake with an error alert (see the server log)"),
    };
    failure::tls(class, format!("{addr} aborted the TLS handshake: {why}"))
}

#[cfg(test)]
#[path = "tls_words_tests.rs"]
mod tests;
