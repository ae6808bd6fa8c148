//! glibc's `execvp`, with the search decided before the clone.
//!
//! A child that shares our memory (`vfork.rs`) may not set `environ` (the
//! supervisor's other threads read it) nor allocate, so it cannot call
//! `execvp` on the service's environment. [`Search::new`] builds, in the
//! parent, the paths `execvp` would try — a program with a `/` as it is,
//! else each entry of the *service's* `PATH` (glibc's `/bin:/usr/bin` when
//! it has none; an empty entry is the working directory) — and
//! [`Search::exec`] tries them in the child with glibc's rules: `EACCES`
//! is remembered and the search goes on, "not there" errors go on, any
//! other error ends it; a file the kernel cannot exec (`ENOEXEC`, a script
//! without `#!`) runs under `/bin/sh`.

use std::cell::Cell;
use std::ffi::{CStr, CString};

use libc::c_char;

const SHELL: &CStr = c"/bin/sh";
const DEFAULT_PATH: &[u8] = b"/bin:/usr/bin";

/// Where the child tries to exec its program, in order.
pub(super) struct Search {
    candidates: Vec<CString>,
    /// `/bin/sh`, the candidate (slot 1, set in the child), `argv[1..]`,
    /// NULL: the command line for a file the kernel cannot exec.
    sh_argv: Vec<Cell<*const c_char>>,
}

impl Search {
    /// The candidates for `program` with `argv` under the environment `envp`.
    pub(super) fn new(program: &CStr, argv: &[CString], envp: &[CString]) -> Search {
        let name = program.to_bytes();
        let candidates = if name.contains(&b'/') {
            vec![program.to_owned()]
        } else if name.is_empty() {
            Vec::new() // ENOENT, as glibc
        } else {
            let path = envp
                .iter()
                .find_map(|e| e.to_bytes().strip_prefix(b"PATH="))
                .unwrap_or(DEFAULT_PATH);
            path.split(|&b| b == b':')
                .filter_map(|dir| {
                    let mut p = dir.to_vec();
                    if !dir.is_empty() {
                        p.push(b'/');
                    }
                    p.extend_from_slice(name);
                    CString::new(p).ok()
                })
                .collect()
        };
        let sh_argv = [SHELL.as_ptr(), std::ptr::null()]
            .into_iter()
            .chain(argv.iter().skip(1).map(|a| a.as_ptr()))
            .chain(std::iter::once(std::ptr::null()))
            .map(Cell::new)
            .collect();
        Search {
            candidates,
            sh_argv,
        }
    }

    /// In the child: exec the first candidate that works; returns only on
    /// failure, with the errno to report.
    ///
    /// # Safety
    /// `argv` and `envp` are NULL-terminated arrays of C strings; only in the
    /// child (it execs), before the parent frees anything.
    pub(super) unsafe fn exec(
        &self,
        argv: *const *const c_char,
        envp: *const *const c_char,
    ) -> i32 {
        let mut eacces = false;
        let mut errno = libc::ENOENT;
        for c in &self.candidates {
            // SAFETY: the caller's contract; `c` is a C string we own.
            unsafe {
                libc::execve(c.as_ptr(), argv, envp);
                errno = *libc::__errno_location();
                if errno == libc::ENOEXEC {
                    self.sh_argv[1].set(c.as_ptr());
                    libc::execve(SHELL.as_ptr(), self.sh_argv.as_ptr().cast(), envp);
                    errno = *libc::__errno_location();
                }
            }
            match errno {
                libc::EACCES => eacces = true,
                libc::ENOENT | libc::ESTALE | libc::ENOTDIR | libc::ENODEV | libc::ETIMEDOUT => {}
                _ => return errno,
            }
        }
        if eacces {
            libc::EACCES
        } else {
            errno
        }
    }

    /// The paths to try (for tests).
    #[cfg(test)]
    fn paths(&self) -> Vec<&str> {
        self.candidates
            .iter()
            .map(|c| c.to_str().unwrap_or("?"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn c(s: &str) -> CString {
        CString::new(s).unwrap()
    }

    #[test]
    fn a_bare_name_is_looked_up_in_the_services_path() {
        let env = [c("HOME=/x"), c("PATH=/opt/bin::/usr/bin")];
        let s = Search::new(&c("tool"), &[c("tool")], &env);
        assert_eq!(s.paths(), ["/opt/bin/tool", "tool", "/usr/bin/tool"]);
        let s = Search::new(&c("tool"), &[c("tool")], &[c("HOME=/x")]);
        assert_eq!(s.paths(), ["/bin/tool", "/usr/bin/tool"], "glibc's default");
        let s = Search::new(&c("./run.sh"), &[c("run.sh")], &env);
        assert_eq!(s.paths(), ["./run.sh"], "a path is not searched");
        assert!(Search::new(&c(""), &[], &env).paths().is_empty());
    }

    #[test]
    fn a_script_without_a_shebang_gets_the_shells_command_line() {
        let argv = [c("job"), c("a"), c("b")];
        let s = Search::new(&c("job"), &argv, &[]);
        let sh: Vec<*const c_char> = s.sh_argv.iter().map(Cell::get).collect();
        assert_eq!(sh.len(), 5);
        assert_eq!(sh[0], SHELL.as_ptr());
        assert_eq!(
            (sh[2], sh[3], sh[4]),
            (argv[1].as_ptr(), argv[2].as_ptr(), std::ptr::null())
        );
    }
}
