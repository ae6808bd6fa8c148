//! Walk every error kind rustls 0.23 / webpki 0.103 can report and check the
//! words: a class from docs/database.md's failure table, and no Debug identifier of the
//! error (`CaUsedAsEndEntity`, `Other(OtherError(…))`) in the message.

use std::sync::Arc;

use rustls::{
    AlertDescription, CertRevocationListError, CertificateError, ContentType, Error, HandshakeType,
    InconsistentKeys, InvalidMessage, OtherError, PeerIncompatible, PeerMisbehaved,
};

use super::describe;
use crate::db::probe::failure::Class;
use crate::db::view::Trust;

#[allow(deprecated)]
fn webpki_kinds() -> Vec<webpki::Error> {
    use webpki::Error as W;
    vec![
        W::BadDer,
        W::BadDerTime,
        W::CaUsedAsEndEntity,
        W::CertDistrusted,
        W::CertRevoked,
        W::EmptyEkuExtension,
        W::EndEntityUsedAsCa,
        W::ExtensionValueInvalid,
        W::InvalidCertValidity,
        W::InvalidCrlNumber,
        W::InvalidNetworkMaskConstraint,
        W::InvalidSerialNumber,
        W::InvalidCrlSignatureForPublicKey,
        W::InvalidSignatureForPublicKey,
        W::IssuerNotCrlSigner,
        W::MalformedDnsIdentifier,
        W::MalformedExtensions,
        W::MalformedNameConstraint,
        W::MaximumNameConstraintComparisonsExceeded,
        W::MaximumPathBuildCallsExceeded,
        W::MaximumPathDepthExceeded,
        W::MaximumSignatureChecksExceeded,
        W::NameConstraintViolation,
        W::PathLenConstraintViolated,
        W::RequiredEkuNotFound,
        W::SignatureAlgorithmMismatch,
        W::UnknownIssuer,
        W::UnknownRevocationStatus,
        W::UnsupportedCertVersion,
        W::UnsupportedCriticalExtension,
        W::UnsupportedCrlIssuingDistributionPoint,
        W::UnsupportedCrlVersion,
        W::UnsupportedDeltaCrl,
        W::UnsupportedIndirectCrl,
        W::UnsupportedNameType,
        W::UnsupportedRevocationReason,
        W::UnsupportedRevocationReasonsPartitioning,
        W::UnsupportedCrlSignatureAlgorithm,
        W::UnsupportedSignatureAlgorithm,
        W::UnsupportedCrlSignatureAlgorithmForPublicKey,
        W::UnsupportedSignatureAlgorithmForPublicKey,
    ]
}

#[allow(deprecated)]
fn certificate_kinds() -> Vec<CertificateError> {
    use CertificateError as C;
    let mut v = vec![
        C::BadEncoding,
        C::Expired,
        C::NotValidYet,
        C::Revoked,
        C::UnhandledCriticalExtension,
        C::UnknownIssuer,
        C::UnknownRevocationStatus,
        C::ExpiredRevocationList,
        C::BadSignature,
        C::UnsupportedSignatureAlgorithm,
        C::NotValidForName,
        C::InvalidPurpose,
        C::InvalidOcspResponse,
        C::ApplicationVerificationFailure,
        C::Other(OtherError(Arc::new(std::io::Error::other("SomethingElse")))),
    ];
    v.extend(
        webpki_kinds()
            .into_iter()
            .map(|w| C::Other(OtherError(Arc::new(w)))),
    );
    v
}

fn all_kinds() -> Vec<Error> {
    use PeerIncompatible as P;
    let mut v: Vec<Error> = vec![
        Error::InappropriateMessage {
            expect_types: vec![ContentType::Handshake],
            got_type: ContentType::Alert,
        },
        Error::InappropriateHandshakeMessage {
            expect_types: vec![HandshakeType::ServerHello],
            got_type: HandshakeType::Finished,
        },
        Error::InvalidMessage(InvalidMessage::HandshakePayloadTooLarge),
        Error::NoCertificatesPresented,
        Error::UnsupportedNameType,
        Error::DecryptError,
        Error::EncryptError,
        Error::PeerMisbehaved(PeerMisbehaved::AttemptedDowngradeToTls12WhenTls13IsSupported),
        Error::PeerMisbehaved(PeerMisbehaved::BadCertChainExtensions),
        Error::InvalidCertRevocationList(CertRevocationListError::BadSignature),
        Error::General("GeneralTrouble".into()),
        Error::FailedToGetCurrentTime,
        Error::FailedToGetRandomBytes,
        Error::HandshakeNotComplete,
        Error::PeerSentOversizedRecord,
        Error::NoApplicationProtocol,
        Error::BadMaxFragmentSize,
        Error::InconsistentKeys(InconsistentKeys::KeyMismatch),
        Error::Other(OtherError(Arc::new(std::io::Error::other("OtherThing")))),
    ];
    for p in [
        P::EcPointsExtensionRequired,
        P::ExtendedMasterSecretExtensionRequired,
        P::IncorrectCertificateTypeExtension,
        P::KeyShareExtensionRequired,
        P::NamedGroupsExtensionRequired,
        P::NoCertificateRequestSignatureSchemesInCommon,
        P::NoCipherSuitesInCommon,
        P::NoEcPointFormatsInCommon,
        P::NoKxGroupsInCommon,
        P::NoSignatureSchemesInCommon,
        P::NullCompressionRequired,
        P::ServerDoesNotSupportTls12Or13,
        P::ServerSentHelloRetryRequestWithUnknownExtension,
        P::ServerTlsVersionIsDisabledByOurConfig,
        P::SignatureAlgorithmsExtensionRequired,
        P::SupportedVersionsExtensionRequired,
        P::Tls12NotOffered,
        P::Tls12NotOfferedOrEnabled,
        P::Tls13RequiredForQuic,
        P::UncompressedEcPointsRequired,
        P::UnsolicitedCertificateTypeExtension,
    ] {
        v.push(Error::PeerIncompatible(p));
    }
    v.extend((0..=255u8).map(|n| Error::AlertReceived(AlertDescription::from(n))));
    v.extend(
        certificate_kinds()
            .into_iter()
            .map(Error::InvalidCertificate),
    );
    v
}

/// Identifiers a Debug rendering of `e` contains (`CaUsedAsEndEntity`, `Other`…).
fn debug_words(e: &Error) -> Vec<String> {
    format!("{e:?}")
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| w.len() >= 4 && w.starts_with(|c: char| c.is_ascii_uppercase()))
        .filter(|w| w.chars().any(|c| c.is_ascii_lowercase()))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_tls_error_kind_is_in_words() {
    let trust = Trust::File("/etc/ca.pem".into());
    let kinds = all_kinds();
    assert!(kinds.len() > 300, "{}", kinds.len());
    for e in &kinds {
        let f = describe(e, "db.example.com", "10.0.0.5:5432", &trust);
        for w in debug_words(e) {
            assert!(
                !f.message.contains(&w),
                "{e:?} → Debug word {w:?} in: {}",
                f.message
            );
        }
        assert!(
            !f.message.contains("{ ") && !f.message.contains("(\""),
            "{}",
            f.message
        );
        assert!(f.message.len() > 30, "{e:?} → too terse: {}", f.message);
    }
    let ca = Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(
        webpki::Error::CaUsedAsEndEntity,
    ))));
    let f = describe(&ca, "db.example.com", "10.0.0.5:5432", &trust);
    assert_eq!(f.class, Class::TlsBadCertificate);
    assert!(
        f.message.contains("CA:TRUE") && f.message.contains("sslrootcert"),
        "{}",
        f.message
    );
}
