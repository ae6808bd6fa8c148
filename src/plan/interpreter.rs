//! What the kernel runs *before* a program: the `#!` interpreter of a script
//! and the dynamic loader (`PT_INTERP`) of an ELF binary. When either is
//! missing, `execve` fails with ENOENT although the program itself exists —
//! "program not found" for a file that is right there. The Plan checks the
//! chain the way the kernel walks it (binfmt_script: the first line, up to
//! 256 bytes, interpreter up to the first space or tab, nested scripts up to
//! 4 levels; binfmt_elf: the `PT_INTERP` path), and the spawn code asks
//! [`explain_not_found`] to name the missing piece.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::command::{check_executable, NotRunnable};

/// The kernel reads this much of a file to recognise `#!` (BINPRM_BUF_SIZE).
const HEAD: usize = 256;
/// Nested interpreters the kernel follows (BINPRM_MAX_RECURSION).
const MAX_DEPTH: usize = 4;

/// Why executing `program` (an existing file) would fail because of what it
/// needs to run, or `None`. Relative interpreter paths are resolved against
/// `cwd`, as the kernel does in the child. With the service's `path` (its
/// PATH), a `#!/usr/bin/env NAME` script's NAME is looked up too: `env`
/// itself exists, but the service would exit 127 at once, every restart.
pub(super) fn problem(program: &Path, cwd: &Path, path: Option<&str>) -> Option<String> {
    // Shown without `./` in the middle (`/srv/app/./run.sh`).
    let mut current: PathBuf = program.components().collect();
    for _ in 0..MAX_DEPTH {
        let (needed, what, from) = match needs(&current)? {
            Needs::Script(line) if line.crlf() => {
                return Some(format!("{} has Windows (CRLF) line endings: its `#!` line ends in a carriage return, which the kernel keeps as part of `{}`; convert the file to Unix line endings (dos2unix)", current.display(), line.last_word().escape_debug()));
            }
            Needs::Script(line) => {
                if let Some(why) = env_target(&line, cwd, path) {
                    return Some(format!("{} {why}", current.display()));
                }
                (PathBuf::from(&line.name), "its interpreter", "(from its `#!` line)")
            }
            Needs::Loader(l) => (PathBuf::from(l), "its dynamic loader", "(ELF PT_INTERP: a binary built for another system — musl or glibc, another architecture?)"),
        };
        let full = cwd.join(&needed);
        if let Err(why) = check_executable(&full) {
            let fix = if why == NotRunnable::Missing {
                "; install it, or correct the path"
            } else {
                ""
            };
            return Some(format!(
                "{} needs {what} `{}` {from}, which {why}{fix}",
                current.display(),
                needed.display()
            ));
        }
        if from.starts_with("(ELF") {
            return None;
        }
        current = full.components().collect();
    }
    Some(format!(
        "{} needs more than {MAX_DEPTH} nested `#!` interpreters; the kernel refuses that",
        program.display()
    ))
}

/// `#!/usr/bin/env NAME` (or `env -S NAME …`): NAME on the service's PATH.
/// Without `-S`, Linux passes everything after `env ` as one argument, so
/// `#!/usr/bin/env node --flag` looks for a program called `node --flag`.
fn env_target(line: &Shebang, cwd: &Path, path: Option<&str>) -> Option<String> {
    let path = path?;
    if Path::new(&line.name).file_name()? != "env" {
        return None;
    }
    let arg = line.arg.as_deref()?;
    let target = match arg.strip_prefix("-S") {
        Some(rest) => rest.split_whitespace().next()?,
        None if arg.starts_with('-') || arg.contains('=') => return None,
        None => arg,
    };
    let why = super::command::resolve(target, Some(path), cwd).err()?;
    Some(format!(
        "runs `{target}` through `{}` (its `#!` line), but {why}",
        line.name
    ))
}

/// The message for a spawn that failed with ENOENT: which piece is missing.
/// `program` as given to exec; `cwd` the child's working directory.
pub fn explain_not_found(program: &str, cwd: Option<&Path>) -> String {
    // No cwd set: the child runs in ours.
    let cwd = cwd
        .map(Path::to_path_buf)
        .or_else(|| std::env::current_dir().ok());
    if let (true, Some(dir)) = (program.contains('/'), &cwd) {
        let path = dir.join(program);
        if let Some(why) = path.is_file().then(|| problem(&path, dir, None)).flatten() {
            return format!("cannot execute: {why}");
        }
    }
    format!("program `{program}` not found")
}

/// What a file needs from the kernel to run.
enum Needs {
    Script(Shebang),
    Loader(String),
}

/// A `#!` line as binfmt_script splits it: the interpreter, and everything
/// after it (spaces and tabs trimmed at both ends) as one optional argument.
#[derive(Debug, PartialEq, Eq)]
struct Shebang {
    name: String,
    arg: Option<String>,
}

impl Shebang {
    /// The line ends in a carriage return (kept by the kernel).
    fn crlf(&self) -> bool {
        self.last_word().ends_with('\r')
    }
    fn last_word(&self) -> &str {
        self.arg.as_deref().unwrap_or(&self.name)
    }
}

fn needs(path: &Path) -> Option<Needs> {
    let file = File::open(path).ok()?;
    let mut head = [0u8; HEAD];
    let n = file.read_at(&mut head, 0).ok()?;
    let head = &head[..n];
    if head.starts_with(b"#!") {
        return shebang(head).map(Needs::Script);
    }
    elf_interp(&file, head).map(Needs::Loader)
}

/// The interpreter of a `#!` line as binfmt_script reads it, or `None` when
/// the kernel would not treat the file as a script (then `execvp` falls back
/// to `/bin/sh`, which works).
fn shebang(head: &[u8]) -> Option<Shebang> {
    let spacetab = |c: &u8| *c == b' ' || *c == b'\t';
    let line = match head.iter().position(|&c| c == b'\n') {
        Some(end) => &head[2..end],
        None if head.len() < HEAD => &head[2..],
        None => {
            // No newline in the buffer: the name must end before it does.
            let rest = &head[2..];
            let start = rest.iter().position(|c| !spacetab(c))?;
            rest[start..].iter().position(|c| spacetab(c) || *c == 0)?;
            rest
        }
    };
    let line = line.split(|&c| c == 0).next()?;
    let start = line.iter().position(|c| !spacetab(c))?;
    let end = line.iter().rposition(|c| !spacetab(c))? + 1;
    let line = &line[start..end];
    let name_end = line.iter().position(spacetab).unwrap_or(line.len());
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let arg = line[name_end..]
        .iter()
        .position(|c| !spacetab(c))
        .map(|i| text(&line[name_end + i..]));
    Some(Shebang {
        name: text(&line[..name_end]),
        arg,
    })
}

/// `PT_INTERP` of an ELF file (32 or 64 bit, either byte order).
fn elf_interp(file: &File, head: &[u8]) -> Option<String> {
    if head.len() < 52 || !head.starts_with(b"\x7fELF") {
        return None;
    }
    let wide = head[4] == 2;
    let big = head[5] == 2;
    let num = |b: &[u8]| -> u64 {
        let mut v = 0u64;
        let mut bytes: Vec<u8> = b.to_vec();
        if !big {
            bytes.reverse();
        }
        for x in bytes {
            v = (v << 8) | u64::from(x);
        }
        v
    };
    let read = |off: u64, len: usize| -> Option<Vec<u8>> {
        let mut buf = vec![0u8; len];
        (file.read_at(&mut buf, off).ok()? == len).then_some(buf)
    };
    let (phoff, phentsize, phnum) = if wide {
        (
            num(head.get(0x20..0x28)?),
            num(head.get(0x36..0x38)?),
            num(head.get(0x38..0x3a)?),
        )
    } else {
        (
            num(head.get(0x1c..0x20)?),
            num(head.get(0x2a..0x2c)?),
            num(head.get(0x2c..0x2e)?),
        )
    };
    for i in 0..phnum.min(256) {
        let ph = read(phoff + i * phentsize, phentsize.min(64) as usize)?;
        if num(ph.get(0..4)?) != 3 {
            continue; // not PT_INTERP
        }
        let (off, size) = if wide {
            (num(ph.get(8..16)?), num(ph.get(32..40)?))
        } else {
            (num(ph.get(4..8)?), num(ph.get(16..20)?))
        };
        let path = read(off, size.min(4096) as usize)?;
        let path = path.split(|&c| c == 0).next()?;
        return Some(String::from_utf8_lossy(path).into_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn script(dir: &Path, name: &str, body: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, body).expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        p
    }

    #[test]
    fn shebang_lines_as_the_kernel_reads_them() {
        type Case<'a> = (&'a [u8], Option<(&'a str, Option<&'a str>)>);
        let cases: &[Case] = &[
            (b"#!/bin/sh\necho", Some(("/bin/sh", None))),
            (
                b"#! \t/usr/bin/env node\n",
                Some(("/usr/bin/env", Some("node"))),
            ),
            (
                b"#!/usr/bin/env  node  --x \t\n",
                Some(("/usr/bin/env", Some("node  --x"))),
            ),
            (b"#!/bin/sh", Some(("/bin/sh", None))),
            (b"#!/bin/sh\r\n", Some(("/bin/sh\r", None))),
            (
                b"#!/usr/bin/env node\r\n",
                Some(("/usr/bin/env", Some("node\r"))),
            ),
            (b"#!\n", None),
            (b"#!   \n", None),
        ];
        for (head, want) in cases {
            let got = shebang(head);
            let got = got.as_ref().map(|s| (s.name.as_str(), s.arg.as_deref()));
            assert_eq!(got, *want, "{:?}", String::from_utf8_lossy(head));
        }
        let long = [b"#!".as_slice(), &[b'x'; 300]].concat();
        assert_eq!(
            shebang(&long[..HEAD]),
            None,
            "a truncated name is not a script"
        );
    }

    #[test]
    fn the_missing_piece_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let ok = script(d, "ok.sh", b"#!/bin/sh\ntrue\n");
        assert_eq!(problem(&ok, d, None), None);
        let plain = script(d, "plain", b"echo no shebang\n");
        assert_eq!(problem(&plain, d, None), None);
        let nested = script(d, "nested", format!("#!{}\n", ok.display()).as_bytes());
        assert_eq!(problem(&nested, d, None), None);
        for (name, body, needle) in [
            (
                "missing",
                &b"#!/nonexistent/python9\n"[..],
                "its interpreter `/nonexistent/python9` (from its `#!` line), which does not exist",
            ),
            (
                "crlf",
                b"#!/bin/sh\r\necho\r\n",
                "carriage return, which the kernel keeps as part of `/bin/sh\\r`",
            ),
            ("crlf-arg", b"#!/usr/bin/env node\r\n", "part of `node\\r`"),
            ("relative", b"#!interp/x\n", "`interp/x`"),
            (
                "dir",
                b"#!/tmp\n",
                "`/tmp` (from its `#!` line), which is not a file",
            ),
        ] {
            let p = script(d, name, body);
            let why = problem(&p, d, None).unwrap_or_default();
            assert!(why.contains(needle), "{name}: {why}");
            assert!(explain_not_found(&p.display().to_string(), None).contains(needle));
        }
        // `#!/usr/bin/env NAME`: NAME on the service's PATH.
        let env = script(d, "env.js", b"#!/usr/bin/env no-such-node-uaol\n");
        assert_eq!(problem(&env, d, None), None, "no PATH given: not checked");
        let why = problem(&env, d, Some("/usr/bin:/bin")).unwrap_or_default();
        assert!(why.contains("runs `no-such-node-uaol` through `/usr/bin/env` (its `#!` line), but `no-such-node-uaol` not found on the service's PATH (/usr/bin:/bin)"), "{why}");
        let flags = script(d, "flags.js", b"#!/usr/bin/env sh -e\n");
        let why = problem(&flags, d, Some("/usr/bin:/bin")).unwrap_or_default();
        assert!(
            why.contains("`sh -e` not found"),
            "one argument on Linux: {why}"
        );
        let split = script(d, "split.js", b"#!/usr/bin/env -S sh -e\n");
        assert_eq!(problem(&split, d, Some("/usr/bin:/bin")), None);
        assert_eq!(
            explain_not_found("nope-uaol", Some(d)),
            "program `nope-uaol` not found"
        );
        let sh = std::fs::canonicalize("/bin/sh").expect("sh");
        assert_eq!(problem(&sh, d, None), None, "a real ELF with its loader");
    }

    #[test]
    fn an_elf_binary_whose_loader_is_missing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sh = std::fs::read(std::fs::canonicalize("/bin/sh").expect("sh")).expect("read");
        let file = File::open(std::fs::canonicalize("/bin/sh").expect("sh")).expect("open");
        let Some(loader) = elf_interp(&file, &sh[..HEAD]) else {
            panic!("/bin/sh has no PT_INTERP (a static build?)");
        };
        // The same binary, its loader path renamed to one that does not exist.
        let fake = loader.replacen("lib", "zzz", 1);
        assert_eq!(fake.len(), loader.len());
        let pos = sh
            .windows(loader.len())
            .position(|w| w == loader.as_bytes())
            .expect("path");
        let mut bin = sh.clone();
        bin[pos..pos + loader.len()].copy_from_slice(fake.as_bytes());
        let p = script(dir.path(), "foreign", &bin);
        let why = problem(&p, dir.path(), None).unwrap_or_default();
        assert!(
            why.contains(&format!("its dynamic loader `{fake}`")) && why.contains("does not exist"),
            "{why}"
        );
    }
}
