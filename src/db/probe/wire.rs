//! Reading backend messages off the wire: framing, ErrorResponse fields,
//! DataRow columns. Frontend messages come from `postgres-protocol`.
//!
//! Hand-written (≈60 lines) instead of `postgres-protocol`'s backend parser so
//! that a peer that is not PostgreSQL (an HTTP port, a TLS-only proxy) shows up
//! as a clear "not the PostgreSQL protocol" instead of a decoding panic path.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Anything the probe talks over: TCP, a Unix socket, or TLS on TCP.
pub(super) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// One backend message.
pub(super) struct Msg {
    /// Type byte (`R`, `E`, `S`, `Z`, …).
    pub(crate) tag: u8,
    /// Contents after the length.
    pub(crate) body: Vec<u8>,
}

/// Largest message the probe accepts; anything bigger is not a PostgreSQL peer.
const MAX: usize = 1 << 20;

/// Read one message. `InvalidData` means the peer is not speaking the protocol.
pub(super) async fn recv(io: &mut dyn Io) -> io::Result<Msg> {
    let tag = io.read_u8().await?;
    let len = io.read_u32().await? as usize;
    if !tag.is_ascii_alphabetic() || !(4..=MAX).contains(&len) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not the PostgreSQL protocol",
        ));
    }
    let mut body = vec![0; len - 4];
    io.read_exact(&mut body).await?;
    Ok(Msg { tag, body })
}

/// Write a prepared frontend message.
pub(super) async fn send(io: &mut dyn Io, buf: &[u8]) -> io::Result<()> {
    io.write_all(buf).await?;
    io.flush().await
}

/// ErrorResponse / NoticeResponse fields.
#[derive(Debug, Default, Clone)]
pub(crate) struct ServerError {
    /// `C`: SQLSTATE.
    pub(crate) code: String,
    /// `M`: primary message.
    pub(crate) message: String,
    /// `H`: hint, when given.
    pub(crate) hint: Option<String>,
}

/// Parse an ErrorResponse body.
pub(super) fn server_error(body: &[u8]) -> ServerError {
    let mut e = ServerError::default();
    let mut rest = body;
    while let Some((&code, tail)) = rest.split_first() {
        if code == 0 {
            break;
        }
        let end = tail.iter().position(|&b| b == 0).unwrap_or(tail.len());
        let value = String::from_utf8_lossy(&tail[..end]).into_owned();
        match code {
            b'C' => e.code = value,
            b'M' => e.message = value,
            b'H' => e.hint = Some(value),
            _ => {}
        }
        rest = tail.get(end + 1..).unwrap_or(&[]);
    }
    e
}

/// DataRow columns as text (NULL → None).
pub(super) fn data_row(body: &[u8]) -> Vec<Option<String>> {
    let mut out = Vec::new();
    let Some(count) = body.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]])) else {
        return out;
    };
    let mut rest = &body[2..];
    for _ in 0..count {
        let Some(len) = rest
            .get(..4)
            .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        else {
            break;
        };
        rest = &rest[4..];
        if len < 0 {
            out.push(None);
            continue;
        }
        let len = (len as usize).min(rest.len());
        out.push(Some(String::from_utf8_lossy(&rest[..len]).into_owned()));
        rest = &rest[len..];
    }
    out
}

/// The int32 at the start of an Authentication message.
pub(super) fn auth_code(body: &[u8]) -> Option<u32> {
    body.get(..4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// A ParameterStatus body: (name, value).
pub(super) fn parameter(body: &[u8]) -> (String, String) {
    let mut parts = body
        .split(|&b| b == 0)
        .map(|s| String::from_utf8_lossy(s).into_owned());
    (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    )
}
