//! Service output as bytes: a [`Chunk`] is a run of complete lines in one
//! buffer of one [`Stream`], and [`Lines`] splits a pipe's byte stream into
//! chunks. A leaf: the relay, tail, sink, formatter and bus all build on it.
//!
//! Why bytes and not one `String` per line: the relay is the hot path (a
//! chatty service can write hundreds of MB/s), and a `String` per line costs
//! an allocation, a free and a UTF-8 re-encoding per line. A chunk is one
//! buffer per read (up to 64 KiB), split with SIMD `memchr`; the writer adds
//! the prefix while copying it out. Bytes are passed through as they are
//! (invalid UTF-8 too); only JSON output, readiness regexes and the `logs`
//! tail convert (lossily) to text, and the pretty writer shows control
//! characters as escapes (`visible.rs`).
//!
//! Bounded: a line longer than [`MAX_LINE`] is emitted in pieces, every piece
//! but the last marked with a trailing [`CUT`] (never inside a UTF-8
//! sequence); a trailing `\r` is dropped; a partial last line is flushed at EOF.

use memchr::{memchr, memchr_iter};

/// Longest line emitted in one piece (bytes).
pub(crate) const MAX_LINE: usize = 16 * 1024;
/// Marks a piece of a line that continues in the next piece.
pub(crate) const CUT: &str = "…";
/// A chunk this big (one read of half a default pipe) means a flood: the
/// relay widens the child's pipe, the writer its stdout.
pub(crate) const FLOOD: usize = 32 * 1024;

/// Which output stream (here, at the bottom of the relay's modules, so
/// that the tail, the sink, the formatter and the bus can name it without
/// importing the relay).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    /// stdout.
    Stdout,
    /// stderr.
    Stderr,
}

impl Stream {
    /// `stdout` / `stderr`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// Complete lines, each ending in `\n`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Chunk {
    /// The lines, newline-terminated.
    pub bytes: Vec<u8>,
    /// How many lines.
    pub lines: usize,
}

impl Chunk {
    /// Whether there are no lines.
    pub(crate) fn is_empty(&self) -> bool {
        self.lines == 0
    }

    /// Append a whole line (without newline).
    pub(crate) fn push_line(&mut self, line: &[u8]) {
        self.bytes.extend_from_slice(line);
        self.bytes.push(b'\n');
        self.lines += 1;
    }

    /// The fast path: append the leading run of ordinary lines of `data`
    /// (no `\r` before the newline, not too long) with one copy; returns
    /// the rest, which starts with a line that needs care or is partial.
    fn push_clean<'a>(&mut self, data: &'a [u8]) -> &'a [u8] {
        let (mut end, mut lines) = (0, 0);
        for nl in memchr_iter(b'\n', data) {
            if nl - end > MAX_LINE || (nl > end && data[nl - 1] == b'\r') {
                break;
            }
            (end, lines) = (nl + 1, lines + 1);
        }
        self.bytes.extend_from_slice(&data[..end]);
        self.lines += lines;
        &data[end..]
    }

    /// Append a piece of a longer line, marked with [`CUT`].
    fn push_cut(&mut self, piece: &[u8]) {
        self.bytes.extend_from_slice(piece);
        self.bytes.extend_from_slice(CUT.as_bytes());
        self.bytes.push(b'\n');
        self.lines += 1;
    }

    /// The lines, without their newline.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u8]> {
        split_lines(&self.bytes)
    }

    /// The lines as text (invalid UTF-8 replaced).
    pub(crate) fn to_strings(&self) -> Vec<String> {
        self.iter()
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect()
    }
}

/// The newline-terminated lines of `b`, without their newline.
pub(crate) fn split_lines(b: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    memchr_iter(b'\n', b).map(move |nl| {
        let l = &b[start..nl];
        start = nl + 1;
        l
    })
}

/// Splits a byte stream into lines of at most [`MAX_LINE`] bytes.
#[derive(Debug, Default)]
pub(crate) struct Lines {
    /// The start of a line whose end has not arrived yet.
    buf: Vec<u8>,
}

impl Lines {
    /// Feed bytes; complete lines (and cut pieces of long ones) go to `out`.
    pub(crate) fn push(&mut self, mut data: &[u8], out: &mut Chunk) {
        while !self.buf.is_empty() && !data.is_empty() {
            data = self.continue_line(data, out);
        }
        while !data.is_empty() {
            data = out.push_clean(data);
            if data.is_empty() {
                return;
            }
            // One line that needs care (CR, too long) or the partial last one.
            let window = &data[..data.len().min(MAX_LINE + 1)];
            if let Some(nl) = memchr(b'\n', window) {
                out.push_line(strip_cr(&data[..nl]));
                data = &data[nl + 1..];
                continue;
            }
            if data.len() > MAX_LINE {
                let at = MAX_LINE - utf8_tail(&data[..MAX_LINE]);
                out.push_cut(&data[..at]);
                data = &data[at..];
            } else {
                self.buf.extend_from_slice(data);
                return;
            }
        }
    }

    /// The pending partial line, taken out: read the next bytes after it
    /// and hand the whole back with [`Lines::push_owned`] (or put it back
    /// with [`Lines::restore`]).
    pub(crate) fn take_pending(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    /// Put back what [`Lines::take_pending`] took (no bytes were added),
    /// without the room reserved for a read.
    pub(crate) fn restore(&mut self, mut pending: Vec<u8>) {
        pending.shrink_to_fit();
        self.buf = pending;
    }

    /// Split `bytes` — the pending partial line ([`Lines::take_pending`])
    /// followed by freshly read data. When every complete line is ordinary
    /// (the common case) the buffer itself becomes the chunk, uncopied, and
    /// only the partial last line is copied out; otherwise as [`Lines::push`].
    pub(crate) fn push_owned(&mut self, mut bytes: Vec<u8>, out: &mut Chunk) {
        let (mut end, mut lines) = (0, 0);
        let mut clean = self.buf.is_empty() && out.bytes.is_empty();
        for nl in memchr_iter(b'\n', &bytes) {
            if !clean || nl - end > MAX_LINE || (nl > end && bytes[nl - 1] == b'\r') {
                clean = false;
                break;
            }
            (end, lines) = (nl + 1, lines + 1);
        }
        if !clean || bytes.len() - end > MAX_LINE {
            return self.push(&bytes, out);
        }
        self.buf.extend_from_slice(&bytes[end..]);
        bytes.truncate(end);
        *out = Chunk { bytes, lines };
    }

    /// Extend the pending partial line; returns what is left of `data`.
    fn continue_line<'a>(&mut self, data: &'a [u8], out: &mut Chunk) -> &'a [u8] {
        let room = MAX_LINE - self.buf.len();
        let window = &data[..data.len().min(room + 1)];
        if let Some(nl) = memchr(b'\n', window) {
            self.buf.extend_from_slice(&data[..nl]);
            out.push_line(strip_cr(&self.buf));
            self.buf.clear();
            &data[nl + 1..]
        } else if data.len() > room {
            self.buf.extend_from_slice(&data[..room]);
            let at = self.buf.len() - utf8_tail(&self.buf);
            out.push_cut(&self.buf[..at]);
            self.buf.drain(..at);
            &data[room..]
        } else {
            self.buf.extend_from_slice(data);
            &[]
        }
    }

    /// End of stream: flush a partial last line.
    pub(crate) fn finish(&mut self, out: &mut Chunk) {
        if !self.buf.is_empty() {
            out.push_line(strip_cr(&self.buf));
            self.buf.clear();
        }
    }
}

/// A line without its trailing `\r` (CRLF output).
fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Bytes at the end of `b` that are an incomplete UTF-8 sequence (kept for the next piece).
fn utf8_tail(b: &[u8]) -> usize {
    for back in 1..=3.min(b.len()) {
        let c = b[b.len() - back];
        if c & 0xC0 != 0x80 {
            let need = if c >= 0xF0 {
                4
            } else if c >= 0xE0 {
                3
            } else if c >= 0xC0 {
                2
            } else {
                1
            };
            return if need > back { back } else { 0 };
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<String> {
        let mut l = Lines::default();
        let mut out = Chunk::default();
        for c in chunks {
            l.push(c, &mut out);
        }
        l.finish(&mut out);
        assert_eq!(out.iter().count(), out.lines);
        out.to_strings()
    }

    /// The same stream, split by reads into an owned buffer: same lines.
    fn split_owned(chunks: &[&[u8]]) -> Vec<String> {
        let mut l = Lines::default();
        let mut got = Vec::new();
        for c in chunks {
            let mut bytes = l.take_pending();
            bytes.extend_from_slice(c);
            let mut out = Chunk::default();
            l.push_owned(bytes, &mut out);
            assert_eq!(out.iter().count(), out.lines);
            got.extend(out.to_strings());
        }
        let mut out = Chunk::default();
        l.finish(&mut out);
        got.extend(out.to_strings());
        got
    }

    #[test]
    fn owned_reads_split_exactly_like_copied_ones() {
        let long = vec![b'y'; MAX_LINE * 2 + 10];
        let cases: Vec<Vec<&[u8]>> = vec![
            vec![b"a\nb", b"c\nd\n", b"", b"e"],
            vec![b"crlf\r\nx\r", b"\ny\n"],
            vec![&long[..MAX_LINE - 1], &long[..5], b"\nz\n"],
            vec![&long, b"\n"],
            vec![b"\xc3", b"\xa9\n"],
        ];
        for c in cases {
            assert_eq!(
                split_owned(&c),
                split(&c),
                "{:?}",
                c.iter().map(|b| b.len()).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn splits_lines_across_chunks_and_flushes_partial() {
        assert_eq!(split(&[b"a\nb", b"c\r\nd"]), vec!["a", "bc", "d"]);
        assert_eq!(split(&[b"\n\n"]), vec!["", ""]);
        assert_eq!(split(&[b"x", b"y", b"\r", b"\nz\n"]), vec!["xy", "z"]);
    }

    #[test]
    fn long_lines_are_cut_with_a_marker() {
        let long = vec![b'x'; MAX_LINE * 2 + 10];
        let mut data = long.clone();
        data.extend_from_slice(b"\nok\n");
        for parts in [vec![&data[..]], data.chunks(1000).collect::<Vec<_>>()] {
            let out = split(&parts);
            assert_eq!(out.len(), 4);
            assert!(out[0].ends_with(CUT) && out[1].ends_with(CUT));
            assert_eq!(out[0].len(), MAX_LINE + CUT.len());
            assert_eq!(out[2].len(), 10);
            assert_eq!(out[3], "ok");
        }
        // A line of exactly MAX_LINE bytes is not cut.
        let mut exact = vec![b'y'; MAX_LINE];
        exact.push(b'\n');
        assert_eq!(split(&[&exact]), vec!["y".repeat(MAX_LINE)]);
        assert_eq!(
            split(&[&exact[..5], &exact[5..]]),
            vec!["y".repeat(MAX_LINE)]
        );
    }

    #[test]
    fn cuts_do_not_split_utf8() {
        let mut data = vec![b'x'; MAX_LINE - 1];
        data.extend_from_slice("é".as_bytes());
        data.push(b'\n');
        for parts in [vec![&data[..]], vec![&data[..3], &data[3..]]] {
            let out = split(&parts);
            assert_eq!(out.len(), 2);
            assert!(!out.concat().contains('\u{FFFD}'));
            assert_eq!(out[1], "é");
        }
    }

    #[test]
    fn invalid_utf8_is_passed_through_as_bytes() {
        let mut l = Lines::default();
        let mut out = Chunk::default();
        l.push(b"a\xff\xfeb\nc", &mut out);
        l.finish(&mut out);
        assert_eq!(out.bytes, b"a\xff\xfeb\nc\n");
        assert_eq!(out.lines, 2);
        assert_eq!(out.to_strings()[0], "a\u{FFFD}\u{FFFD}b");
    }

    /// The fast path (runs of ordinary lines copied at once) and the careful
    /// one (CRLF, long lines, partial lines across reads) agree with a
    /// line-at-a-time reference, however the stream is cut into reads.
    #[test]
    fn any_read_boundaries_give_the_same_lines() {
        let mut data = Vec::new();
        for i in 0..300 {
            let len = [0, 1, 99, MAX_LINE, MAX_LINE + 1, 2 * MAX_LINE + 7][i % 6];
            data.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, len));
            // (CRLF after a line of MAX_LINE bytes or more is cut before the CR.)
            let crlf = i % 7 == 0 && len < MAX_LINE;
            data.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
        }
        data.extend_from_slice(b"tail");
        let whole = split(&[&data]);
        let mut want = Vec::new();
        for l in data.split(|&b| b == b'\n') {
            let l = l.strip_suffix(b"\r").unwrap_or(l);
            let mut rest = l;
            while rest.len() > MAX_LINE {
                want.push(format!(
                    "{}{CUT}",
                    String::from_utf8_lossy(&rest[..MAX_LINE])
                ));
                rest = &rest[MAX_LINE..];
            }
            want.push(String::from_utf8_lossy(rest).into_owned());
        }
        assert_eq!(whole, want);
        for size in [1, 3, 100, 4096, 65536] {
            let parts: Vec<&[u8]> = data.chunks(size).collect();
            assert_eq!(split(&parts), want, "reads of {size}");
        }
    }
}
