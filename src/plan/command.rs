//! Commands: splitting a command string into argv like a POSIX shell splits
//! words (quotes and backslashes, no expansion — it is never run by a shell
//! unless `shell = true`), keeping where each byte came from so secrecy
//! follows into the words, and resolving `argv[0]` on the service's own PATH.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::unistd::{access, AccessFlags};

use crate::secret::Spans;

/// Why a command line cannot be split into words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SplitError {
    /// `'` without its closing quote.
    #[error("unterminated single quote in the command")]
    SingleQuote,
    /// `"` without its closing quote.
    #[error("unterminated double quote in the command")]
    DoubleQuote,
    /// A `\` at the very end.
    #[error("the command ends with a lone backslash")]
    LoneBackslash,
    /// `|`, `&`, `;`, `<`, `>` or a backquote outside quotes.
    #[error("the command contains the shell operator `{0}` but is not run by a shell (set `shell = true`, or quote it)")]
    Operator(char),
}

/// Why a path is not a file this process could `execve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NotRunnable {
    /// Nothing at the path (or it cannot be looked at).
    #[error("does not exist")]
    Missing,
    /// A directory, socket, … rather than a regular file.
    #[error("is not a file")]
    NotAFile,
    /// No execute bit, or `access(X_OK)` refuses it.
    #[error("is not executable")]
    NotExecutable,
}

/// Why `argv[0]` does not name a program the child could run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ResolveError {
    /// A path (with a `/`) that is not an executable file.
    #[error("`{program}` {why}")]
    Path {
        /// The program as written.
        program: String,
        /// What the path is instead.
        why: NotRunnable,
    },
    /// A bare name, and the service has no PATH.
    #[error("`{0}` cannot be found: the service has no PATH (add \"PATH\" to `inherit`, or set PATH in its env)")]
    NoPath(String),
    /// Found on PATH, but not executable.
    #[error("`{program}` found at {} but it is not executable", found.display())]
    NotExecutable {
        /// The program as written.
        program: String,
        /// Where it was found.
        found: PathBuf,
    },
    /// Not on PATH.
    #[error("`{program}` not found on the service's PATH ({path})")]
    NotFound {
        /// The program as written.
        program: String,
        /// The PATH searched.
        path: String,
    },
}

/// Split `line` into words. Errors on unterminated quotes and on shell
/// operators, which would otherwise be passed to the program literally.
pub(crate) fn split(line: &str) -> Result<Vec<String>, SplitError> {
    Ok(split_traced(line)?.into_iter().map(|w| w.text).collect())
}

/// A word of a split command line, with where each of its bytes came from.
#[derive(Debug, Default)]
pub(crate) struct Word {
    /// The word.
    pub text: String,
    /// For each byte of `text`, its byte offset in the line.
    pub origin: Vec<usize>,
}

impl Word {
    fn push(&mut self, at: usize, c: char) {
        self.text.push(c);
        self.origin.extend(std::iter::repeat_n(at, c.len_utf8()));
    }
    /// `spans` of the line, carried over to this word.
    pub(crate) fn spans(&self, line_spans: &Spans) -> Spans {
        let mut out = Spans::default();
        for part in line_spans.parts() {
            let inside = |i: &usize| part.range.contains(&self.origin[*i]);
            let mut i = 0;
            while i < self.origin.len() {
                if !inside(&i) {
                    i += 1;
                    continue;
                }
                let start = i;
                while i < self.origin.len() && inside(&i) {
                    i += 1;
                }
                out.push(start..i, part.from.clone());
            }
        }
        out
    }
}

/// [`split`], keeping where each byte of each word came from (so what
/// interpolation brought into the line can be followed into the words).
pub(crate) fn split_traced(line: &str) -> Result<Vec<Word>, SplitError> {
    let mut words = Vec::new();
    let mut cur: Option<Word> = None;
    let mut chars = line.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if let Some(w) = cur.take() {
                    words.push(w);
                }
            }
            '\'' => {
                let w = cur.get_or_insert_with(Word::default);
                loop {
                    match chars.next() {
                        Some((_, '\'')) => break,
                        Some((i, c)) => w.push(i, c),
                        None => return Err(SplitError::SingleQuote),
                    }
                }
            }
            '"' => {
                let w = cur.get_or_insert_with(Word::default);
                loop {
                    match chars.next() {
                        Some((_, '"')) => break,
                        Some((b, '\\')) => match chars.next() {
                            Some((i, c @ ('\\' | '"' | '$' | '`'))) => w.push(i, c),
                            Some((_, '\n')) => {}
                            Some((i, c)) => {
                                w.push(b, '\\');
                                w.push(i, c);
                            }
                            None => return Err(SplitError::DoubleQuote),
                        },
                        Some((i, c)) => w.push(i, c),
                        None => return Err(SplitError::DoubleQuote),
                    }
                }
            }
            '\\' => match chars.next() {
                Some((_, '\n')) => {}
                Some((i, c)) => cur.get_or_insert_with(Word::default).push(i, c),
                None => return Err(SplitError::LoneBackslash),
            },
            '|' | '&' | ';' | '<' | '>' | '`' => return Err(SplitError::Operator(c)),
            c => cur.get_or_insert_with(Word::default).push(at, c),
        }
    }
    words.extend(cur);
    Ok(words)
}

/// Resolve `program` as `execvp` would in the child: a name with a `/` is
/// relative to `cwd`; a bare name is searched in `path` (the service's own
/// PATH; empty entries mean `cwd`). The result is absolute and executable.
pub(crate) fn resolve(
    program: &str,
    path: Option<&str>,
    cwd: &Path,
) -> Result<PathBuf, ResolveError> {
    if program.contains('/') {
        let p = cwd.join(program);
        return match check_executable(&p) {
            Ok(()) => Ok(p),
            Err(why) => Err(ResolveError::Path {
                program: program.into(),
                why,
            }),
        };
    }
    let Some(path) = path else {
        return Err(ResolveError::NoPath(program.into()));
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
        Some(found) => Err(ResolveError::NotExecutable {
            program: program.into(),
            found,
        }),
        None => Err(ResolveError::NotFound {
            program: program.into(),
            path: path.into(),
        }),
    }
}

/// Whether `p` is an executable regular file (as `execve` will need).
pub(crate) fn check_executable(p: &Path) -> Result<(), NotRunnable> {
    let meta = std::fs::metadata(p).map_err(|_| NotRunnable::Missing)?;
    if !meta.is_file() {
        return Err(NotRunnable::NotAFile);
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err(NotRunnable::NotExecutable);
    }
    access(p, AccessFlags::X_OK).map_err(|_| NotRunnable::NotExecutable)
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
            assert!(err.to_string().contains(needle), "{line}: {err}");
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
            assert!(err.to_string().contains(needle), "{prog}: {err}");
        }
    }

    #[test]
    fn secret_spans_follow_into_the_words() {
        // `app --token 'tok en' x` with the token's bytes secret in the line.
        let line = "app --token 'tok en' x";
        let mut spans = Spans::default();
        spans.push(13..19, Some("API_TOKEN".into()));
        let words = split_traced(line).expect("splits");
        let shown: Vec<String> = words
            .iter()
            .map(|w| w.spans(&spans).display(&w.text))
            .collect();
        assert_eq!(shown, ["app", "--token", "****", "x"]);
        assert_eq!(
            words[2].spans(&spans).parts()[0].from.as_deref(),
            Some("API_TOKEN")
        );
    }
}
