//! Raw configuration: `supervisor.toml` parsed close to the file (serde, strict,
//! every error with file:line:col). No system access beyond reading the file.
//!
//! - [`raw`]: the serde types (`deny_unknown_fields`, spans kept);
//! - [`units`]: durations, sizes, signals;
//! - [`suggest`]: "did you mean" by edit distance;
//! - [`keys`]: every unknown key at once (serde stops at the first).

mod de;
pub(crate) mod keys;
pub(crate) mod raw;
pub(crate) mod suggest;
pub(crate) mod units;

use std::path::Path;

use crate::plan::Locator;
pub(crate) use crate::plan::Problem;
pub(crate) use raw::RawConfig;

/// Read `path` as UTF-8 text. Errors name the file (and the line of the first
/// invalid byte).
pub(crate) fn read_text(path: &Path) -> Result<String, Problem> {
    let bytes = read_bounded(path, MAX_TEXT_FILE).map_err(|e| Problem {
        location: path.display().to_string(),
        message: format!("cannot read file: {}", io_reason(&e)),
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let line = 1 + e.as_bytes()[..valid]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        Problem {
            location: format!("{}:{line}", path.display()),
            message: "the file is not valid UTF-8 text".into(),
        }
    })
}

/// The largest supervisor.toml or env file read (a config is kilobytes; this
/// stops `env_files = ["/dev/zero"]` from eating all memory).
pub(crate) const MAX_TEXT_FILE: u64 = 16 * 1024 * 1024;

/// Read at most `max` bytes of the regular file `path`; a longer file is an
/// error rather than an out-of-memory. Anything else — a FIFO, a directory, a
/// socket, a device such as `/dev/zero` or `/dev/stdin` — is refused with a
/// reason (`ErrorKind::InvalidInput`) and never read: a FIFO without a writer
/// would block `check` and `up` forever, and `reload` reads the file again.
/// `stat` first, so a device is never even opened; the open itself is
/// `O_NONBLOCK` (a FIFO swapped in after the `stat` cannot block it either)
/// and `fstat` decides on what was actually opened.
pub(crate) fn read_bounded(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    regular(&std::fs::metadata(path)?)?;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    regular(&file.metadata()?)?;
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(std::io::Error::other(format!(
            "larger than {} MiB; is this the right file?",
            max / (1024 * 1024)
        )));
    }
    Ok(bytes)
}

/// `Ok` for a regular file; else an error naming what it is.
fn regular(meta: &std::fs::Metadata) -> std::io::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    let what = if t.is_file() {
        return Ok(());
    } else if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else {
        "a special file"
    };
    Err(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("not a regular file but {what}; name a regular file (a pipe or device may block, never end, or be gone on reload)"),
    ))
}

/// A short reason for an I/O error, without the OS error number noise.
pub(crate) fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// Parse supervisor.toml text. The error names file:line:col and, for an
/// unknown key or value, the nearest valid one.
pub(crate) fn parse(loc: &Locator, text: &str) -> Result<RawConfig, Vec<Problem>> {
    let unknown = keys::unknown(loc, text);
    if !unknown.is_empty() {
        return Err(unknown);
    }
    parse_serde(loc, text).map_err(|p| vec![p])
}

fn parse_serde(loc: &Locator, text: &str) -> Result<RawConfig, Problem> {
    toml::from_str(text).map_err(|e| {
        let location = match e.span() {
            Some(span) => loc.at(&span),
            None => loc.path().display().to_string(),
        };
        let snippet = e.span().and_then(|sp| text.get(sp)).unwrap_or_default();
        let message = rewrite_message(e.message(), snippet);
        let key = e.span().and_then(|sp| keys::path_at(text, sp.start));
        Problem {
            location,
            message: match key {
                Some(k)
                    if !message.starts_with("unknown key") && !message.starts_with("duplicate") =>
                {
                    format!("{k}: {message}")
                }
                _ => message,
            },
        }
    })
}

/// Turn serde's "unknown field `x`, expected one of `a`, `b`" into
/// "unknown key `x` (did you mean `a`?); valid keys: …".
fn rewrite_message(msg: &str, snippet: &str) -> String {
    let msg = msg.trim_end();
    if msg == "duplicate key" {
        let key: String = snippet.trim().chars().take(60).collect();
        return format!("duplicate key `{key}` (a key or table may be defined only once)");
    }
    if let Some(field) = msg.strip_prefix("missing field ") {
        return format!("missing key {field}");
    }
    if let Some((head, _)) = msg.split_once(", expected struct Raw") {
        return format!("{head}, expected a table");
    }
    if let Some(head) = msg.strip_suffix(", expected a sequence") {
        return format!("{head}, expected an array");
    }
    if let Some(head) = msg.strip_suffix(", expected u32") {
        return format!("{head}, expected a non-negative integer");
    }
    if let Some(head) = msg.strip_suffix(", expected a map") {
        return format!("{head}, expected a table");
    }
    let (what, rest) = if let Some(r) = msg.strip_prefix("unknown field `") {
        ("key", r)
    } else if let Some(r) = msg.strip_prefix("unknown variant `") {
        ("value", r)
    } else {
        return msg.to_string();
    };
    let Some((name, expected)) = rest.split_once('`') else {
        return msg.to_string();
    };
    let valid: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    let hint = suggest::did_you_mean(name, valid.iter().copied());
    if valid.is_empty() {
        format!("unknown {what} `{name}`")
    } else {
        let list = valid
            .iter()
            .map(|v| format!("`{v}`"))
            .collect::<Vec<_>>()
            .join(", ");
        format!("unknown {what} `{name}`{hint}; expected one of {list}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<RawConfig, Problem> {
        parse(&Locator::new(Path::new("s.toml"), text), text).map_err(|mut v| v.remove(0))
    }

    #[test]
    fn unknown_keys_suggest_the_nearest() {
        for (text, loc, needle) in [
            (
                "[services.a]\ncomand = \"x\"\n",
                "s.toml:2:1",
                "unknown key `comand` in [services.a] (did you mean `command`?)",
            ),
            (
                "[servics.a]\n",
                "s.toml:1:2",
                "unknown key `servics` (did you mean `services`?)",
            ),
            (
                "[supervisor]\nenv_file = []\n",
                "s.toml:2:1",
                "(did you mean `env_files`?)",
            ),
            (
                "[database]\nurll = \"x\"\n",
                "s.toml:2:1",
                "(did you mean `url`?)",
            ),
            (
                "[services.a.backoff]\nfactr = 2.0\n",
                "s.toml:2:1",
                "(did you mean `factor`?)",
            ),
            (
                "[services.a]\nzzzzzz = 1\n",
                "s.toml:2:1",
                "unknown key `zzzzzz` in [services.a]; expected one of",
            ),
        ] {
            let p = parse_str(text).expect_err(text);
            assert_eq!(p.location, loc, "{text}: {p}");
            assert!(p.message.contains(needle), "{text}: {p}");
        }
    }

    #[test]
    fn wrong_types_and_syntax_name_the_place() {
        for (text, loc, needle) in [
            (
                "[services.a]\ncommand = 5\n",
                "s.toml:2:11",
                "a string or an array of strings",
            ),
            (
                "[services.a]\noneshot = \"yes\"\n",
                "s.toml:2:11",
                "expected a boolean",
            ),
            (
                "[services.a]\nmax_restarts = -1\n",
                "s.toml:2:16",
                "a non-negative integer",
            ),
            (
                "[services.a]\n[services.a]\n",
                "s.toml:2:",
                "duplicate key `a`",
            ),
            ("[services]\na = 5\n", "s.toml:2:5", "expected a table"),
            ("services = 3\n", "s.toml:1:12", "expected a table"),
            (
                "[services.a.log_file]\nkeep = 1\n",
                "s.toml:1:",
                "missing key `path`",
            ),
            (
                "[env]\nA = [1]\n",
                "s.toml:2:5",
                "a string, number or boolean",
            ),
            (
                "[services.a\n",
                "s.toml:1:12",
                "unclosed table, expected `]`",
            ),
        ] {
            let p = parse_str(text).expect_err(text);
            assert!(p.location.starts_with(loc), "{text}: {p}");
            assert!(p.message.contains(needle), "{text}: {p}");
        }
    }

    #[test]
    fn the_configuration_reference_parses_and_documents_every_key() {
        let doc = include_str!("../../docs/configuration.md");
        let start = doc.find("```toml\n").expect("toml block") + "```toml\n".len();
        let block = &doc[start..start + doc[start..].find("```").expect("end of block")];
        let raw = parse_str(block);
        assert!(raw.is_ok(), "{raw:?}");
        // The one example block shows every key a table accepts.
        let set: Vec<&str> = block
            .lines()
            .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim()))
            .collect();
        for key in [keys::SUPERVISOR, keys::DATABASE, keys::SERVICE].concat() {
            assert!(set.contains(&key), "docs/configuration.md lacks `{key}`");
        }
    }

    #[test]
    fn full_example_parses() {
        let raw = parse_str(include_str!("../../tests/corpus/config/example.toml"));
        assert!(raw.is_ok(), "{raw:?}");
    }
}

#[cfg(test)]
mod read_tests {
    use super::*;

    #[test]
    fn only_regular_files_within_the_bound_are_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("f");
        std::fs::write(&file, "12345").expect("write");
        assert_eq!(read_bounded(&file, 5).expect("fits"), b"12345");
        let long = read_bounded(&file, 4).expect_err("too long");
        assert!(long.to_string().contains("larger than"), "{long}");
        for (path, what) in [
            (dir.path(), "a directory"),
            (Path::new("/dev/null"), "a character device"),
        ] {
            let e = read_bounded(path, 5).expect_err("special");
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
            assert!(e.to_string().contains(what), "{e}");
        }
    }
}
