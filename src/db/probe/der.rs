//! Just enough DER to read a certificate's `notAfter` (so the probe can warn
//! about an expiring server certificate) and its signature algorithm (for the
//! tls-server-end-point channel binding hash), without an X.509 crate.
//!
//! ```text
//! Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL,
//! serialNumber, signature, issuer, validity SEQUENCE { notBefore, notAfter }, … } … }
//! ```

/// One TLV: (tag, contents, rest).
pub(super) fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, b) = b.split_first()?;
    let (&first, mut b) = b.split_first()?;
    let len = if first < 0x80 {
        first as usize
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || b.len() < n {
            return None;
        }
        let len = b[..n]
            .iter()
            .fold(0usize, |acc, &x| (acc << 8) | x as usize);
        b = &b[n..];
        len
    };
    (b.len() >= len).then(|| (tag, &b[..len], &b[len..]))
}

/// `notAfter` as seconds since the Unix epoch.
pub(super) fn not_after(cert: &[u8]) -> Option<i64> {
    let (_, cert, _) = tlv(cert)?;
    let (_, mut tbs, _) = tlv(cert)?;
    let (tag, _, rest) = tlv(tbs)?;
    if tag == 0xa0 {
        tbs = rest;
    }
    for _ in 0..3 {
        tbs = tlv(tbs)?.2; // serial, signature, issuer
    }
    let (_, validity, _) = tlv(tbs)?;
    let (_, _, rest) = tlv(validity)?;
    let (tag, time, _) = tlv(rest)?;
    parse_time(tag, std::str::from_utf8(time).ok()?)
}

/// RFC 5929 tls-server-end-point: the certificate hashed with its signature's
/// hash (MD5/SHA-1 → SHA-256). `None` for algorithms without one (Ed25519,
/// RSA-PSS): PostgreSQL cannot bind those either.
pub(super) fn endpoint_hash(cert: &[u8]) -> Option<Vec<u8>> {
    use sha2::Digest;
    let (_, body, _) = tlv(cert)?;
    let (_, _, rest) = tlv(body)?; // skip tbsCertificate
    let (_, alg, _) = tlv(rest)?;
    let (tag, oid, _) = tlv(alg)?;
    if tag != 0x06 {
        return None;
    }
    const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01];
    const ECDSA: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04];
    let bits = match oid {
        [p @ .., 4 | 5 | 11] if p == RSA => 256, // md5, sha1 → SHA-256; sha256
        [p @ .., 12] if p == RSA => 384,
        [p @ .., 13] if p == RSA => 512,
        [p @ .., 1] if p == ECDSA => 256, // ecdsa-with-SHA1
        [p @ .., 3, 2] if p == ECDSA => 256,
        [p @ .., 3, 3] if p == ECDSA => 384,
        [p @ .., 3, 4] if p == ECDSA => 512,
        _ => return None,
    };
    Some(match bits {
        256 => sha2::Sha256::digest(cert).to_vec(),
        384 => sha2::Sha384::digest(cert).to_vec(),
        _ => sha2::Sha512::digest(cert).to_vec(),
    })
}

pub(super) fn parse_time(tag: u8, s: &str) -> Option<i64> {
    let (year, rest) = match tag {
        0x17 => {
            let yy: i64 = s.get(0..2)?.parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, s.get(2..)?)
        }
        0x18 => (s.get(0..4)?.parse().ok()?, s.get(4..)?),
        _ => return None,
    };
    let n = |i: usize| -> Option<i64> { rest.get(i..i + 2)?.parse().ok() };
    let days = days_from_civil(year, n(0)?, n(2)?);
    Some(days * 86400 + n(4)? * 3600 + n(6)? * 60 + n(8)?)
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
pub(super) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// `YYYY-MM-DD` for seconds since the epoch.
pub(super) fn date(secs: i64) -> String {
    let z = secs.div_euclid(86400) + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(days_from_civil(2026, 11, 27) * 86400), "2026-11-27");
        assert_eq!(
            parse_time(0x17, "261127083000Z"),
            Some(days_from_civil(2026, 11, 27) * 86400 + 8 * 3600 + 1800)
        );
        assert_eq!(
            parse_time(0x18, "20500101000000Z"),
            Some(days_from_civil(2050, 1, 1) * 86400)
        );
    }
}
