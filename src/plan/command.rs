//! Commands: splitting a command string into argv like a POSIX shell splits
//! words (quotes and backslashes, no expansion — it is never run by a shell
//! unless `shell = true`), and resolving `argv[0]` on the service's own PATH.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::unistd::{access, AccessFlags};

/// Split `line` into words. Errors on unterminated quotes and on shell
/// operators, which would otherwise be passed to the program literally.
pub fn split(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur: Option<String> = None;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if let Some(w) = cur.take() {
                    words.push(w);
                }
            }
            '\'' => {
                let w = cur.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err("unterminated single quote in the command".into()),
                    }
                }
            }
            '"' => {
                let w = cur.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('\\' | '"' | '$' | '`')) => w.push(c),
                            Some('\n') => {}
                            Some(c) => {
                                w.push('\\');
                                w.push(c);
                            }
                            None => return Err("unterminated double quote in the command".into()),
                        },
                        Some(c) => w.push(c),
                        None => return Err("unterminated double quote in the command".into()),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(c) => cur.get_or_insert_with(String::new).push(c),
                None => return Err("the command ends with a lone backslash".into()),
            },
            '|' | '&' | ';' | '<' | '>' | '`' => {
                return Err(format!(
                    "the command contains the shell operator `{c}` but is not run by a shell (set `shell = true`, or quote it)"
                ))
            }
            c => cur.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(cur);
    Ok(words)
}

/// Resolve `program` as `execvp` would in the child: a name with a `/` is
/// relative to `cwd`; a bare name is searched in `path` (the service's own
/// PATH; empty entries mean `cwd`). The result is absolute and executable.
pub fn resolve(program: &str, path: Option<&str>, cwd: &Path) -> Result<PathBuf, String> {
    if program.contains('/') {
        let p = cwd.join(program);
        return match check_executable(&p) {
            Ok(()) => Ok(p),
            Err(why) => Err(format!("`{program}` {why}")),
        };
    }
    let Some(path) = path else {
        return Err(format!("`{program}` cannot be found: the service has no PATH (add \"PATH\" to `inherit`, or set PATH in its env)"));
    };
    let mut not_executable = None;
    for dir in path.split(':') {
        let p = cwd.join(dir).join(program);
        match check_executable(&p) {
            Ok(()) => return Ok(p),
            Err(_) if p.is_file() => not_executable = not_executable.or(Some(p)),
            Err(_) => {}
        }
    }
    match not_executable {
        Some(p) => Err(format!(
            "`{program}` found at {} but it is not executable",
            p.display()
        )),
        None => Err(format!(
            "`{program}` not found on the service's PATH ({path})"
        )),
    }
}

pub(crate) fn check_executable(p: &Path) -> Result<(), &'static str> {
    let meta = std::fs::metadata(p).map_err(|_| "does not exist")?;
    if !meta.is_file() {
        return Err("is not a file");
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err("is not executable");
    }
    access(p, AccessFlags::X_OK).map_err(|_| "is not executable")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_table() {
        let ok: &[(&str, &[&str])] = &[
            ("node dist/index.js", &["node", "dist/index.js"]),
            ("  a   b  ", &["a", "b"]),
            ("echo 'a b' \"c d\"", &["echo", "a b", "c d"]),
            ("echo a\\ b", &["echo", "a b"]),
            ("echo \"x\\\"y\\\\z\\n\"", &["echo", "x\"y\\z\\n"]),
            ("echo ''", &["echo", ""]),
            ("echo 'it'\"'\"'s'", &["echo", "it's"]),
            ("echo $PORT", &["echo", "$PORT"]),
            ("echo '|'", &["echo", "|"]),
            ("", &[]),
        ];
        for (line, want) in ok {
            let want: Vec<String> = want.iter().map(|w| w.to_string()).collect();
            assert_eq!(split(line), Ok(want), "{line}");
        }
        for (line, needle) in [
            ("echo 'open", "unterminated single quote"),
            ("echo \"open", "unterminated double quote"),
            ("a | b", "shell operator `|`"),
            ("a && b", "shell operator `&`"),
            ("a > f", "shell operator `>`"),
            ("a\\", "lone backslash"),
        ] {
            let err = split(line).expect_err(line);
            assert!(err.contains(needle), "{line}: {err}");
        }
    }

    #[test]
    fn resolve_on_the_services_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("plain.txt"), "x").expect("write");
        let plain = dir.path().join("plain.txt");
        let plain = plain.to_str().expect("utf-8 path");
        let cwd = Path::new("/");
        let sh = resolve("sh", Some("/nonexistent:/bin:/usr/bin"), cwd).expect("sh on PATH");
        assert!(sh.is_absolute() && sh.ends_with("sh"), "{}", sh.display());
        assert_eq!(
            resolve("/bin/sh", None, cwd).ok(),
            Some(PathBuf::from("/bin/sh"))
        );
        for (prog, path, needle) in [
            (
                "no-such-prog-uaol",
                Some("/bin"),
                "not found on the service's PATH (/bin)",
            ),
            ("sh", None, "has no PATH"),
            (plain, None, "is not executable"),
            ("/etc", None, "is not a file"),
            ("./missing", None, "does not exist"),
        ] {
            let err = resolve(prog, path, cwd).expect_err(prog);
            assert!(err.contains(needle), "{prog}: {err}");
        }
    }
}
