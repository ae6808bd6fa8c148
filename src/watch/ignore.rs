//! Ignore globs (pure). A pattern without `/` matches any one component of
//! the path (`node_modules`, `*.swp`: at any depth, as in `.gitignore`); a
//! pattern with `/` matches the path from the service's directory or any
//! leading part of it (`src/generated` ignores everything below). `*`
//! matches within a component, `**` across components, `?` one character.

use std::path::Path;

/// Whether `rel` (relative to the service's directory) is ignored by one of
/// `patterns`.
pub(crate) fn ignored(patterns: &[String], rel: &Path) -> bool {
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    patterns.iter().any(|p| matches(p, &parts))
}

fn matches(pattern: &str, parts: &[String]) -> bool {
    let pattern = pattern.trim_end_matches('/');
    if !pattern.contains('/') {
        return parts.iter().any(|c| glob(pattern.as_bytes(), c.as_bytes()));
    }
    let pattern = pattern.trim_start_matches("./");
    (1..=parts.len()).any(|n| glob(pattern.as_bytes(), parts[..n].join("/").as_bytes()))
}

/// `*` (not across `/`), `**` (across), `?`; everything else literal.
fn glob(p: &[u8], s: &[u8]) -> bool {
    match p {
        [] => s.is_empty(),
        [b'*', b'*', rest @ ..] => {
            let rest = rest.strip_prefix(b"/").unwrap_or(rest);
            (0..=s.len()).any(|i| glob(rest, &s[i..]))
        }
        [b'*', rest @ ..] => {
            let end = s.iter().position(|&c| c == b'/').unwrap_or(s.len());
            (0..=end).any(|i| glob(rest, &s[i..]))
        }
        [b'?', rest @ ..] => matches!(s, [c, tail @ ..] if *c != b'/' && glob(rest, tail)),
        [c, rest @ ..] => matches!(s, [d, tail @ ..] if d == c && glob(rest, tail)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::DEFAULT_WATCH_IGNORE;

    fn defaults() -> Vec<String> {
        DEFAULT_WATCH_IGNORE.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn defaults_ignore_vcs_packages_and_editor_files() {
        let d = defaults();
        for p in [
            ".git/index",
            "node_modules/x/index.js",
            "web/node_modules/y.js",
            "src/.app.js.swp",
            "src/.app.js.swx",
            "src/app.js~",
            "src/.#app.js",
            "src/4913",
        ] {
            assert!(ignored(&d, Path::new(p)), "{p} should be ignored");
        }
        for p in ["src/app.js", "package.json", "src/git/x.js", "src/49130"] {
            assert!(!ignored(&d, Path::new(p)), "{p} should not be ignored");
        }
    }

    #[test]
    fn patterns_with_a_slash_anchor_at_the_service_directory() {
        let p = vec!["src/generated".to_string(), "docs/**/*.md".to_string()];
        assert!(ignored(&p, Path::new("src/generated/a.js")));
        assert!(ignored(&p, Path::new("src/generated")));
        assert!(!ignored(&p, Path::new("lib/src/generated/a.js")));
        assert!(ignored(&p, Path::new("docs/a/b/c.md")));
        assert!(ignored(&p, Path::new("docs/c.md")));
        assert!(!ignored(&p, Path::new("docs/c.txt")));
    }

    #[test]
    fn star_stays_within_a_component() {
        assert!(glob(b"*.log", b"app.log"));
        assert!(!glob(b"*.log", b"a/app.log"));
        assert!(glob(b"a?c", b"abc"));
        assert!(!glob(b"a?c", b"a/c"));
        assert!(glob(b"**", b"a/b/c"));
        let p = vec!["*.log".to_string()];
        assert!(ignored(&p, Path::new("logs/deep/app.log")));
    }
}
