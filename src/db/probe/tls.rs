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

use super::failure::{self, Class, Failure};
use super::{names, x509};
use crate::db::view::{ConnectPlan, Trust, Verify};
use crate::db::Client;

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

/// webpki's verdict, amended where OpenSSL (libpq, Node) decides otherwise:
/// the host name is checked by the client's own rule (CN fallback; none for
/// `verify-ca`), and a certificate byte-identical to one in `sslrootcert` is
/// trusted as it stands (the self-signed dev certificate used as its own
/// root, usually CA:TRUE, which webpki refuses as an end entity) — still
/// subject to its validity dates, OpenSSL's `ssl_server` purpose and the name.
#[derive(Debug)]
struct Checked {
    inner: Arc<WebPkiServerVerifier>,
    anchors: Vec<CertificateDer<'static>>,
    verify: Verify,
    client: Client,
}

fn rejected(e: CertificateError) -> Error {
    Error::InvalidCertificate(e)
}

impl Checked {
    fn name(&self, cert: &x509::Cert, name: &ServerName<'_>) -> Result<ServerCertVerified, Error> {
        let host = name.to_str();
        if self.verify == Verify::Ca || names::matches(self.client, cert, &host) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rejected(CertificateError::NotValidForName))
        }
    }

    fn anchor_as_leaf(
        &self,
        cert: &x509::Cert,
        name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let now = now.as_secs() as i64;
        if cert.not_before.is_some_and(|t| now < t) {
            return Err(rejected(CertificateError::NotValidYet));
        }
        if cert.not_after.is_none_or(|t| now > t) {
            return Err(rejected(CertificateError::Expired));
        }
        if cert.unsuitable_for_server().is_some() {
            return Err(rejected(CertificateError::InvalidPurpose));
        }
        self.name(cert, name)
    }
}

impl ServerCertVerifier for Checked {
    fn verify_server_cert(
        &self,
        e: &CertificateDer<'_>,
        i: &[CertificateDer<'_>],
        n: &ServerName<'_>,
        o: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let verdict = self.inner.verify_server_cert(e, i, n, o, now);
        let parsed = || x509::parse(e).ok_or(rejected(CertificateError::BadEncoding));
        match verdict {
            // The chain verified (webpki checks the name last): the name by
            // the client's rule, which is not webpki's.
            Ok(_)
            | Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => self.name(&parsed()?, n),
            Err(Error::InvalidCertificate(
                CertificateError::UnknownIssuer | CertificateError::Other(_),
            )) if self.anchors.iter().any(|a| a.as_ref() == e.as_ref()) => {
                self.anchor_as_leaf(&parsed()?, n, now)
            }
            other => other,
        }
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls12_signature(m, c, d)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls13_signature(m, c, d)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Where trust comes from, in words.
pub(super) fn trust_label(trust: &Trust) -> String {
    match trust {
        Trust::Mozilla => "Mozilla roots, as bundled by Node".into(),
        Trust::System => "sslrootcert=system (probed with the Mozilla roots)".into(),
        Trust::File(p) => format!("sslrootcert={}", p.display()),
    }
}

/// The trust store, and the certificates of `sslrootcert` as they are (to
/// recognise one presented as the server's own).
type Roots = (RootCertStore, Vec<CertificateDer<'static>>);

fn roots(trust: &Trust) -> Result<Roots, Failure> {
    let mut store = RootCertStore::empty();
    let mut anchors = Vec::new();
    match trust {
        Trust::Mozilla | Trust::System => {
            store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned())
        }
        Trust::File(path) => {
            let bad = |what: &str| {
                failure::config(
                    Class::SslrootcertUnusable,
                    format!("sslrootcert {} {what}", path.display()),
                )
            };
            let bytes = crate::diag::read::read_bounded(path, crate::db::lint_tls::MAX_CERT_FILE)
                .map_err(|_| bad("cannot be read (or is not a certificate file)"))?;
            for cert in CertificateDer::pem_slice_iter(&bytes).flatten() {
                let _ = store.add(cert.clone());
                anchors.push(cert);
            }
            if store.is_empty() {
                return Err(bad("holds no usable PEM certificate"));
            }
        }
    }
    Ok((store, anchors))
}

/// The client certificate chain and key (`sslcert`/`sslkey`), PEM.
fn client_identity(
    cert: &Path,
    key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), Failure> {
    let bad = |what: &str, p: &Path| {
        failure::config(
            Class::SslcertUnusable,
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
pub(super) fn config(verify: Verify, plan: &ConnectPlan) -> Result<Arc<ClientConfig>, Failure> {
    let trust = &plan.trust;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let internal = |_| {
        failure::tls(
            Class::TlsSetup,
            "could not set up TLS (internal error)".into(),
        )
    };
    let verifier: Arc<dyn ServerCertVerifier> = match verify {
        Verify::None => Arc::new(EncryptOnly(provider.signature_verification_algorithms)),
        Verify::Ca | Verify::Full => {
            let (store, anchors) = roots(trust)?;
            let inner =
                WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider.clone())
                    .build()
                    .map_err(|_| {
                        failure::tls(
                            Class::TlsSetup,
                            "could not build the certificate verifier".into(),
                        )
                    })?;
            Arc::new(Checked {
                inner,
                anchors,
                verify,
                client: plan.client,
            })
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
            cfg.with_client_auth_cert(certs, key).map_err(|_| failure::config(Class::SslcertUnusable, "the client certificate and key (sslcert/sslkey) do not match or are of an unsupported type".into()))?
        }
        None => cfg.with_no_client_auth(),
    };
    if plan.direct_tls {
        cfg.alpn_protocols = vec![b"postgresql".to_vec()];
    }
    Ok(Arc::new(cfg))
}
