//! TLS as the configured client would do it: one rustls config per policy
//! (encrypt-only, verify-ca, verify-full), the trust store (sslrootcert or
//! the Mozilla roots), and rustls errors mapped to the taxonomy.
//!
//! rustls (ring backend) instead of OpenSSL keeps the binary static-friendly;
//! the two custom verifiers exist because rustls only ships "verify-full".

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{
    verify_tls12_signature, verify_tls13_signature, CryptoProvider, WebPkiSupportedAlgorithms,
};
use std::path::Path;

use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, Error, RootCertStore, SignatureScheme,
};

use super::failure::{self, Failure};
use crate::db::view::{ConnectPlan, Trust, Verify};
use crate::exit;

/// Accept any certificate, but still check the handshake signatures so the
/// session is keyed to the certificate presented (libpq `require`).
#[derive(Debug)]
struct EncryptOnly(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(m, c, d, &self.0)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(m, c, d, &self.0)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// The chain must verify; the host name is not checked (`verify-ca`).
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        e: &CertificateDer<'_>,
        i: &[CertificateDer<'_>],
        n: &ServerName<'_>,
        o: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        match self.0.verify_server_cert(e, i, n, o, now) {
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.0.verify_tls12_signature(m, c, d)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.0.verify_tls13_signature(m, c, d)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// Where trust comes from, in words.
pub fn trust_label(trust: &Trust) -> String {
    match trust {
        Trust::Mozilla => "Mozilla roots, as bundled by Node".into(),
        Trust::System => "sslrootcert=system (probed with the Mozilla roots)".into(),
        Trust::File(p) => format!("sslrootcert={}", p.display()),
    }
}

fn roots(trust: &Trust) -> Result<RootCertStore, Failure> {
    let mut store = RootCertStore::empty();
    match trust {
        Trust::Mozilla | Trust::System => {
            store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned())
        }
        Trust::File(path) => {
            let bad = |what: &str| {
                failure::config(
                    "sslrootcert_unusable",
                    format!("sslrootcert {} {what}", path.display()),
                )
            };
            let bytes = crate::config::read_bounded(path, crate::db::lint_tls::MAX_CERT_FILE)
                .map_err(|_| bad("cannot be read (or is not a certificate file)"))?;
            for cert in CertificateDer::pem_slice_iter(&bytes).flatten() {
                let _ = store.add(cert);
            }
            if store.is_empty() {
                return Err(bad("holds no usable PEM certificate"));
            }
        }
    }
    Ok(store)
}

/// The client certificate chain and key (`sslcert`/`sslkey`), PEM.
fn client_identity(
    cert: &Path,
    key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), Failure> {
    let bad = |what: &str, p: &Path| {
        failure::config(
            "sslcert_unusable",
            format!("{what} {} is not a readable PEM file", p.display()),
        )
    };
    let certs: Vec<_> = CertificateDer::pem_file_iter(cert)
        .map_err(|_| bad("sslcert", cert))?
        .flatten()
        .collect();
    if certs.is_empty() {
        return Err(bad("sslcert", cert));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|_| bad("sslkey", key))?;
    Ok((certs, key))
}

/// A rustls client config for `verify` against the plan's trust store, with
/// its client certificate if any, and ALPN `postgresql` for direct TLS.
pub fn config(verify: Verify, plan: &ConnectPlan) -> Result<Arc<ClientConfig>, Failure> {
    let trust = &plan.trust;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let internal = |_| failure::tls("tls_setup", "could not set up TLS (internal error)".into());
    let verifier: Arc<dyn ServerCertVerifier> = match verify {
        Verify::None => Arc::new(EncryptOnly(provider.signature_verification_algorithms)),
        Verify::Ca | Verify::Full => {
            let v = WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots(trust)?),
                provider.clone(),
            )
            .build()
            .map_err(|_| {
                failure::tls(
                    "tls_setup",
                    "could not build the certificate verifier".into(),
                )
            })?;
            if verify == Verify::Ca {
                Arc::new(ChainOnly(v))
            } else {
                v
            }
        }
    };
    let cfg = ClientConfig::builder_with_provider(provider as Arc<CryptoProvider>)
        .with_safe_default_protocol_versions()
        .map_err(internal)?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut cfg = match &plan.client_cert {
        Some((cert, key)) => {
            let (certs, key) = client_identity(cert, key)?;
            cfg.with_client_auth_cert(certs, key).map_err(|_| failure::config("sslcert_unusable", "the client certificate and key (sslcert/sslkey) do not match or are of an unsupported type".into()))?
        }
        None => cfg.with_no_client_auth(),
    };
    if plan.direct_tls {
        cfg.alpn_protocols = vec![b"postgresql".to_vec()];
    }
    Ok(Arc::new(cfg))
}

/// Map a failed handshake to the taxonomy.
pub fn classify(e: &std::io::Error, host: &str, addr: &str, trust: &Trust) -> Failure {
    let Some(err) = e.get_ref().and_then(|i| i.downcast_ref::<Error>()) else {
        return failure::io_error("tls", addr, e);
    };
    let store = trust_label(trust);
    match err {
        Error::InvalidCertificate(CertificateError::UnknownIssuer | CertificateError::BadSignature) => failure::tls("tls_untrusted", format!("the server certificate for {host} is not signed by a trusted CA (trust store: {store}). Set sslrootcert=<CA file> in the URL (node-postgres never reads ~/.postgresql/root.crt)")),
        Error::InvalidCertificate(CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }) => failure::tls("tls_hostname_mismatch", format!("the server certificate is not valid for \"{host}\" (host name mismatch). Use the exact host name the certificate was issued for; connecting by IP address cannot pass verify-full")),
        Error::InvalidCertificate(CertificateError::Expired | CertificateError::ExpiredContext { .. }) => failure::tls("tls_expired", format!("the server certificate for {host} has expired")),
        Error::InvalidCertificate(other) => failure::tls("tls_bad_certificate", format!("the server certificate for {host} was rejected ({other:?})")),
        Error::AlertReceived(alert) => failure::tls("tls_alert", format!("{addr} aborted the TLS handshake ({alert:?})")),
        Error::InvalidMessage(_) | Error::InappropriateMessage { .. } => failure::io_error("tls", addr, &std::io::Error::new(std::io::ErrorKind::InvalidData, "")),
        _ => Failure { exit_code: exit::DB_TLS, ..failure::tls("tls_failed", format!("TLS handshake with {addr} failed ({err})")) },
    }
}
