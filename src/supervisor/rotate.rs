//! `log_file`: a copy of a service's output with size rotation
//! (`path` → `path.1` → … → `path.keep`). Written by the sink thread only.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::PathBuf;

use super::emit::emit_event;
use crate::plan::LogFile;

/// A `log_file` with size rotation: `path` → `path.1` → … → `path.keep`.
pub(crate) struct Rotating {
    cfg: LogFile,
    file: Option<File>,
    size: u64,
    failed: bool,
}

impl Rotating {
    /// A rotating file for `cfg` (opened on first write).
    pub(crate) fn new(cfg: LogFile) -> Rotating {
        Rotating {
            cfg,
            file: None,
            size: 0,
            failed: false,
        }
    }

    /// Append lines, rotating when the next one would pass `max_size`. Lines
    /// are gathered into one buffer and written with one call per file (not
    /// one per line), so a flooding service's copy costs little.
    pub(crate) fn write_lines(&mut self, lines: &[String]) {
        let mut buf = Vec::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
        for l in lines {
            let len = l.len() as u64 + 1;
            if self.size + buf.len() as u64 > 0
                && self.size + buf.len() as u64 + len > self.cfg.max_size
            {
                if !self.flush(&mut buf) {
                    return;
                }
                self.rotate();
            }
            buf.extend_from_slice(l.as_bytes());
            buf.push(b'\n');
        }
        self.flush(&mut buf);
    }

    /// Write `buf` (then empty it); false after a write error, reported once.
    fn flush(&mut self, buf: &mut Vec<u8>) -> bool {
        if buf.is_empty() {
            return true;
        }
        match self.append(buf) {
            Ok(()) => {
                self.size += buf.len() as u64;
                buf.clear();
                true
            }
            Err(e) => {
                if !self.failed {
                    self.failed = true;
                    let p = self.cfg.path.display();
                    emit_event(
                        "WARN",
                        None,
                        &format!("cannot write log file {p}: {e}"),
                        &[],
                    );
                }
                false
            }
        }
    }

    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.file.is_none() {
            if let Some(dir) = self.cfg.path.parent() {
                fs::create_dir_all(dir)?;
            }
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.cfg.path)?;
            self.size = f.metadata()?.len();
            self.file = Some(f);
        }
        match &mut self.file {
            Some(f) => f.write_all(bytes),
            None => Ok(()),
        }
    }

    fn rotate(&mut self) {
        self.file = None;
        self.size = 0;
        let p = &self.cfg.path;
        let nth = |n: u32| -> PathBuf { PathBuf::from(format!("{}.{n}", p.display())) };
        if self.cfg.keep == 0 {
            let _ = fs::remove_file(p);
            return;
        }
        for n in (1..self.cfg.keep).rev() {
            let _ = fs::rename(nth(n), nth(n + 1));
        }
        let _ = fs::rename(p, nth(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_keeps_n_files() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("logs/a.log");
        let mut r = Rotating::new(LogFile {
            path: path.clone(),
            max_size: 10,
            keep: 2,
        });
        for i in 0..5 {
            r.write_lines(&[format!("line-{i}xx")]); // 10 bytes with newline
        }
        let read = |p: &std::path::Path| fs::read_to_string(p).unwrap_or_default();
        assert_eq!(read(&path), "line-4xx\n");
        assert_eq!(read(&path.with_extension("log.1")), "line-3xx\n");
        assert_eq!(read(&path.with_extension("log.2")), "line-2xx\n");
        assert!(!path.with_extension("log.3").exists());
    }
}
