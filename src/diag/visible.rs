//! Service output made harmless for a terminal. A child's line is data: a
//! `\r`, an ANSI escape (`\x1b[2K`, cursor moves, OSC titles) or a C1 control
//! could overwrite what came before and forge a `supervisor * …` line. In
//! pretty mode every control character except tab is shown as a visible
//! escape, C style as `less`/`cat -v` show rather than send them (`\r`,
//! `\x1b`, `\x7f`; C1 code points U+0080–U+009F as `\u009b`); JSON escapes
//! them too (valid JSON, same decoded text). The `log_file` copy keeps the
//! bytes as written: files are for tools, as journald keeps the raw message.
//!
//! Hot path (the relay writes hundreds of MB/s): [`is_plain`] is one SIMD
//! pass (`scan.rs`), and a chunk of plain ASCII lines is copied as before.
//! Only a chunk with a control character or a non-ASCII byte takes the
//! careful path, line by line, and only the lines that need it are rebuilt
//! (non-ASCII text is decoded to find C1 controls; invalid UTF-8 is passed
//! through except bytes 0x80–0x9F, which an 8-bit terminal would read as C1
//! controls).

use std::borrow::Cow;

use super::scan::first_unsafe;
pub(crate) use super::scan::is_plain;

/// Append `line` (one line, without its newline) to `out` with every
/// control character other than tab shown as an escape.
pub(crate) fn escape_into(line: &[u8], out: &mut Vec<u8>) {
    let mut rest = line;
    while let Some(i) = first_unsafe(rest) {
        out.extend_from_slice(&rest[..i]);
        let b = rest[i];
        let n = match b {
            0..=0x7f => 1,
            0xc0..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf7 => 4,
            _ => 0,
        };
        let char_at = rest
            .get(i..i + n)
            .and_then(|s| std::str::from_utf8(s).ok())
            .and_then(|s| s.chars().next());
        match char_at {
            Some(c) if needs_escape(c) => push_escape(c, out),
            Some(_) => out.extend_from_slice(&rest[i..i + n]),
            // Invalid UTF-8: kept, but for what an 8-bit terminal reads as C1.
            None if (0x80..=0x9f).contains(&b) => push_hex(b, out),
            None => out.push(b),
        }
        let step = if char_at.is_some() { n } else { 1 };
        rest = rest.get(i + step..).unwrap_or_default();
    }
    out.extend_from_slice(rest);
}

/// [`escape_into`] for text (e.g. lines from the `logs` tail).
pub(crate) fn escape_str(s: &str) -> Cow<'_, str> {
    // The common case in one fast pass (`logs -f` calls this per line).
    let b = s.as_bytes();
    if is_plain(b) && memchr::memchr(b'\n', b).is_none() {
        return Cow::Borrowed(s);
    }
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = Vec::with_capacity(s.len() + 8);
    escape_into(s.as_bytes(), &mut out);
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// A serialized JSON value with DEL and the C1 controls escaped as well
/// (serde_json escapes only U+0000–U+001F, as JSON requires). They can only
/// occur inside strings, where `\u00XX` means the same character.
pub(crate) fn json_safe(json: String) -> String {
    if !json.bytes().any(|b| b == 0x7f || b == 0xc2) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 8);
    for c in json.chars() {
        if matches!(c, '\u{7f}'..='\u{9f}') {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

fn needs_escape(c: char) -> bool {
    c.is_control() && c != '\t'
}

fn push_escape(c: char, out: &mut Vec<u8>) {
    match c {
        '\r' => out.extend_from_slice(b"\\r"),
        '\n' => out.extend_from_slice(b"\\n"),
        c if u32::from(c) < 0x80 => push_hex(c as u8, out),
        c => out.extend_from_slice(format!("\\u{:04x}", u32::from(c)).as_bytes()),
    }
}

fn push_hex(b: u8, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(&[
        b'\\',
        b'x',
        HEX[usize::from(b >> 4)],
        HEX[usize::from(b & 15)],
    ]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(b: &[u8]) -> String {
        let mut out = Vec::new();
        escape_into(b, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn controls_become_visible_escapes() {
        assert_eq!(esc(b"plain\ttext"), "plain\ttext");
        assert_eq!(esc(b"50%\rdone"), "50%\\rdone");
        assert_eq!(
            esc(b"\x1b[2K\rsupervisor * fake"),
            "\\x1b[2K\\rsupervisor * fake"
        );
        assert_eq!(esc(b"a\x00b\x07c\x7fd\x08"), "a\\x00b\\x07c\\x7fd\\x08");
        assert_eq!(
            esc("csi\u{9b}2J nel\u{85}".as_bytes()),
            "csi\\u009b2J nel\\u0085"
        );
        assert_eq!(esc("é € 日本 \u{a0}".as_bytes()), "é € 日本 \u{a0}");
        // Invalid UTF-8: bytes an 8-bit terminal reads as C1 are escaped, others kept.
        let mut out = Vec::new();
        escape_into(b"x\x9by\xffz", &mut out);
        assert_eq!(out, b"x\\x9by\xffz");
    }

    #[test]
    fn the_fast_check_flags_everything_the_escape_changes() {
        for b in 0..=255u8 {
            let line = [b'a', b];
            if b == b'\n' {
                continue;
            }
            let mut out = Vec::new();
            escape_into(&line, &mut out);
            if out != line {
                assert!(!is_plain(&line), "byte {b:#x}");
            }
            if b.is_ascii() && !b.is_ascii_control() || b == b'\t' {
                assert!(is_plain(&line), "byte {b:#x}");
            }
        }
        // Inside a block and in the remainder.
        let mut long = vec![b'x'; 200];
        assert!(is_plain(&long));
        long[70] = 0x1b;
        assert!(!is_plain(&long));
        long[70] = b'x';
        long[199] = b'\r';
        assert!(!is_plain(&long));
    }

    /// The reference: decode with `utf8_chunks`, escape per char.
    fn reference(line: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for chunk in line.utf8_chunks() {
            for c in chunk.valid().chars() {
                if needs_escape(c) {
                    push_escape(c, &mut out);
                } else {
                    out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                }
            }
            for &b in chunk.invalid() {
                if (0x80..=0x9f).contains(&b) {
                    push_hex(b, &mut out);
                } else {
                    out.push(b);
                }
            }
        }
        out
    }

    /// Random lines of interesting bytes (controls, UTF-8 lead and
    /// continuation bytes, C1 pairs): same as the reference, and nothing a
    /// terminal acts on is left.
    #[test]
    fn random_lines_match_the_reference() {
        let pool: &[u8] = b"aZ \t\r\n\x1b\x00\x7f\x80\x85\x9b\x9f\xa0\xbf\xc2\xc3\xe2\x82\xac\xf0\x9f\x98\x80\xff";
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            let mut line = Vec::new();
            for _ in 0..(seed % 13) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                line.push(pool[(seed % pool.len() as u64) as usize]);
            }
            let mut out = Vec::new();
            escape_into(&line, &mut out);
            assert_eq!(out, reference(&line), "{line:?}");
            let text = String::from_utf8_lossy(&out);
            assert!(!text.chars().any(needs_escape), "{line:?} -> {text:?}");
        }
    }

    #[test]
    fn text_and_json() {
        assert!(matches!(escape_str("ok line"), Cow::Borrowed(_)));
        assert_eq!(escape_str("a\u{1b}]0;title\u{7}"), "a\\x1b]0;title\\x07");
        let j = serde_json::json!({"line": "a\u{1b}b\u{7f}c\u{9b}d"}).to_string();
        let safe = json_safe(j);
        assert!(!safe.chars().any(|c| c.is_control()), "{safe}");
        let back: serde_json::Value = serde_json::from_str(&safe).expect("json");
        assert_eq!(back["line"], "a\u{1b}b\u{7f}c\u{9b}d");
    }
}
