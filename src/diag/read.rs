//! Reading the files a person names (supervisor.toml, env files, TLS
//! certificates): bounded, regular files only, and errors as short reasons
//! that name the file.

use std::path::Path;

use super::Problem;

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

#[cfg(test)]
mod tests {
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
