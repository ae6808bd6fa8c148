//! The few X.509 fields the TLS checks need beyond webpki: validity, the
//! subject common names, the subjectAltName DNS names and IP addresses, and
//! the key usages. libpq and Node (both OpenSSL) accept things webpki does not
//! — a self-signed trust anchor presented as the server certificate, a host
//! name matched by the subject CN when there is no DNS SAN — and deciding those
//! cases as they do needs these fields. Read with [`super::der`]'s TLV walker.

use super::der::{parse_time, tlv};

/// What the checks read from a certificate.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Cert {
    /// `notBefore`, seconds since the epoch.
    pub(crate) not_before: Option<i64>,
    /// `notAfter`, seconds since the epoch.
    pub(crate) not_after: Option<i64>,
    /// Subject commonName values, in order.
    pub(crate) cns: Vec<Vec<u8>>,
    /// subjectAltName dNSName entries.
    pub(crate) dns: Vec<Vec<u8>>,
    /// subjectAltName iPAddress entries (4 or 16 bytes).
    pub(crate) ips: Vec<Vec<u8>>,
    /// keyUsage bits (bit 0 = digitalSignature as the MSB of the first byte), if present.
    pub(crate) key_usage: Option<Vec<u8>>,
    /// extendedKeyUsage OIDs (DER contents), if present.
    pub(crate) eku: Option<Vec<Vec<u8>>>,
    /// Issuer and subject are the same name (a self-signed certificate).
    pub(crate) self_issued: bool,
}

const CN: &[u8] = &[0x55, 0x04, 0x03];
const SAN: &[u8] = &[0x55, 0x1d, 0x11];
const KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x0f];
const EXT_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25];
/// id-kp-serverAuth, Netscape SGC, Microsoft SGC: what OpenSSL's
/// `ssl_server` purpose accepts in an extendedKeyUsage.
const SERVER_EKUS: &[&[u8]] = &[
    &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01],
    &[0x60, 0x86, 0x48, 0x01, 0x86, 0xf8, 0x42, 0x04, 0x01],
    &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x0a, 0x03, 0x03],
];

/// Parse `der`; `None` when it is not a certificate this walker understands.
pub(super) fn parse(der: &[u8]) -> Option<Cert> {
    let (_, cert, _) = tlv(der)?;
    let (_, mut tbs, _) = tlv(cert)?;
    let (tag, _, rest) = tlv(tbs)?;
    if tag == 0xa0 {
        tbs = rest;
    }
    for _ in 0..2 {
        tbs = tlv(tbs)?.2; // serial, signature
    }
    let (_, issuer, rest) = tlv(tbs)?;
    let (_, validity, rest) = tlv(rest)?;
    let (subject_tag, subject, rest) = tlv(rest)?;
    let mut c = Cert {
        self_issued: issuer == subject,
        ..Cert::default()
    };
    let (t1, v1, after) = tlv(validity)?;
    let (t2, v2, _) = tlv(after)?;
    c.not_before = parse_time(t1, std::str::from_utf8(v1).ok()?);
    c.not_after = parse_time(t2, std::str::from_utf8(v2).ok()?);
    if subject_tag == 0x30 {
        c.cns = common_names(subject);
    }
    let mut rest = tlv(rest)?.2; // subjectPublicKeyInfo
    while let Some((tag, body, next)) = tlv(rest) {
        if tag == 0xa3 {
            extensions(tlv(body)?.1, &mut c)?;
        }
        rest = next;
    }
    Some(c)
}

fn common_names(mut name: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while let Some((_, set, next)) = tlv(name) {
        let mut atvs = set;
        while let Some((_, atv, after)) = tlv(atvs) {
            if let Some((0x06, oid, value)) = tlv(atv) {
                if oid == CN {
                    out.extend(tlv(value).map(|(_, v, _)| v.to_vec()));
                }
            }
            atvs = after;
        }
        name = next;
    }
    out
}

fn extensions(mut exts: &[u8], c: &mut Cert) -> Option<()> {
    while let Some((_, ext, next)) = tlv(exts) {
        let (_, oid, rest) = tlv(ext)?;
        let (mut tag, mut value, after) = tlv(rest)?;
        if tag == 0x01 {
            (tag, value, _) = tlv(after)?; // skip the critical flag
        }
        if tag != 0x04 {
            return None;
        }
        match oid {
            SAN => alt_names(tlv(value)?.1, c),
            KEY_USAGE => {
                c.key_usage =
                    tlv(value).map(|(_, bits, _)| bits.get(1..).unwrap_or_default().to_vec())
            }
            EXT_KEY_USAGE => {
                let mut oids = tlv(value)?.1;
                let mut list = Vec::new();
                while let Some((_, oid, more)) = tlv(oids) {
                    list.push(oid.to_vec());
                    oids = more;
                }
                c.eku = Some(list);
            }
            _ => {}
        }
        exts = next;
    }
    Some(())
}

fn alt_names(mut names: &[u8], c: &mut Cert) {
    while let Some((tag, v, next)) = tlv(names) {
        match tag {
            0x82 => c.dns.push(v.to_vec()),
            0x87 => c.ips.push(v.to_vec()),
            _ => {}
        }
        names = next;
    }
}

impl Cert {
    /// Why OpenSSL's `ssl_server` purpose would refuse this certificate as
    /// the server's own (keyUsage without a TLS usage, extendedKeyUsage
    /// without serverAuth), or `None`.
    pub(super) fn unsuitable_for_server(&self) -> Option<&'static str> {
        if let Some(eku) = &self.eku {
            if !eku.iter().any(|o| SERVER_EKUS.contains(&o.as_slice())) {
                return Some("its extendedKeyUsage does not include serverAuth");
            }
        }
        // digitalSignature (0x80), keyEncipherment (0x20), keyAgreement (0x08).
        match &self.key_usage {
            Some(bits) if bits.first().is_none_or(|b| b & 0xa8 == 0) => Some(
                "its keyUsage allows no TLS use (digitalSignature, keyEncipherment or keyAgreement); a CA certificate with keyCertSign only cannot be the server's certificate",
            ),
            _ => None,
        }
    }
}
