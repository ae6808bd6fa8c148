//! Can the service's `user` reach its program and working directory? The
//! Plan checks the program for *this* process; after the switch the child
//! is someone else, and the classic failure is a checkout under `/root`
//! (0700): the spawn then fails with "permission denied". This warns when the
//! mode bits say the user cannot search a directory on the way, or execute
//! the program. Only a warning: ACLs or capabilities may still allow it.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::RunAs;

/// What the user `r` cannot reach of `program` and `cwd` (empty when fine).
pub(super) fn problems(r: &RunAs, program: &Path, cwd: &Path) -> Vec<String> {
    let Some(uid) = r.uid.filter(|u| *u != 0) else {
        return Vec::new(); // root, or the uid is kept
    };
    let who = r.user.as_deref().unwrap_or_default();
    let mut out = Vec::new();
    if let Some(why) = blocked_dir(uid, &r.groups, cwd) {
        out.push(format!(
            "`{who}` cannot use the working directory {}: {why}",
            cwd.display()
        ));
    }
    let dir = program.parent().unwrap_or(Path::new("/"));
    let why = blocked_dir(uid, &r.groups, dir).or_else(|| {
        let m = std::fs::metadata(program).ok()?;
        (!allowed(uid, &r.groups, &m, 0o1)).then(|| describe(program, &m))
    });
    if let Some(why) = why {
        out.push(format!(
            "`{who}` cannot execute {}: {why}; the service would fail to start",
            program.display()
        ));
    }
    out
}

/// The first directory from `/` down to `dir` (included) that `uid` cannot search.
fn blocked_dir(uid: u32, groups: &[u32], dir: &Path) -> Option<String> {
    let real = std::fs::canonicalize(dir).ok()?;
    let mut chain: Vec<PathBuf> = real.ancestors().map(Path::to_path_buf).collect();
    chain.reverse();
    chain.into_iter().find_map(|d| {
        let m = std::fs::metadata(&d).ok()?;
        (!allowed(uid, groups, &m, 0o1))
            .then(|| format!("{} is not searchable ({})", d.display(), describe_mode(&m)))
    })
}

/// Whether `uid` with `groups` has `bit` (1 = x, 2 = w, 4 = r) on `m`.
fn allowed(uid: u32, groups: &[u32], m: &std::fs::Metadata, bit: u32) -> bool {
    let mode = m.mode();
    let shift = if m.uid() == uid {
        6
    } else if groups.contains(&m.gid()) {
        3
    } else {
        0
    };
    (mode >> shift) & bit != 0
}

fn describe(p: &Path, m: &std::fs::Metadata) -> String {
    format!("{} is {}", p.display(), describe_mode(m))
}

fn describe_mode(m: &std::fs::Metadata) -> String {
    format!(
        "mode {:04o}, owner uid {} gid {}",
        m.mode() & 0o7777,
        m.uid(),
        m.gid()
    )
}
