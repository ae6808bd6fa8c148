//! The documents point at things that exist: every relative link of the
//! README and `docs/*.md` reaches a file (and, with `#anchor`, a heading of
//! it), and every source file a document names (`engine.rs`,
//! `supervisor/runtime.rs`, `scripts/soak.sh`) is in the repository. A module
//! moved or renamed without its documents fails here.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every docs/*.md.
fn documents() -> Vec<PathBuf> {
    let mut docs = vec![root().join("README.md")];
    let dir = std::fs::read_dir(root().join("docs")).expect("docs/");
    docs.extend(
        dir.map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "md")),
    );
    docs.sort();
    docs
}

/// Every file under these top directories, as paths relative to the root.
fn repository_files() -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    for top in [
        "src",
        "tests",
        "scripts",
        "bench",
        "fuzz/fuzz_targets",
        "examples/uaol",
    ] {
        walk(&root().join(top), &mut out);
    }
    out.iter()
        .filter_map(|p| p.strip_prefix(root()).ok())
        .map(|p| p.to_string_lossy().into_owned())
        .filter(|p| !p.contains("node_modules"))
        .collect()
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces
/// to hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(text: &str) -> BTreeSet<String> {
    let mut fence = false;
    let mut out = BTreeSet::new();
    for line in text.lines() {
        if line.starts_with("```") {
            fence = !fence;
        } else if !fence && line.starts_with('#') {
            out.insert(slug(line.trim_start_matches('#')));
        }
    }
    out
}

/// `](target)` of every markdown link that is not a URL.
fn links(text: &str) -> Vec<String> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .filter(|t| !t.contains("://") && !t.starts_with("mailto:"))
        .map(str::to_owned)
        .collect()
}

/// Words that name a source file: `name.rs`, `dir/name.sh`, `bench/floor.c`
/// — not patterns (`*_tests.rs`) or placeholders in capitals (`NAME.rs`).
fn file_names(text: &str) -> BTreeSet<String> {
    let is_path = |c: char| c.is_ascii_alphanumeric() || "_./-*".contains(c);
    let placeholder = |w: &str| {
        let stem = w.rsplit('/').next().unwrap_or(w);
        let stem = stem.split('.').next().unwrap_or(stem);
        stem.chars().all(|c| c.is_ascii_uppercase() || c == '_')
    };
    text.split(|c: char| !is_path(c))
        .map(|w| w.trim_start_matches("../").trim_start_matches("./"))
        .map(|w| w.trim_end_matches('.'))
        .filter(|w| [".rs", ".sh", ".py", ".c"].iter().any(|x| w.ends_with(x)))
        .filter(|w| !w.starts_with('/') && !w.contains('*') && !placeholder(w))
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_link_and_source_file_the_docs_name_exists() {
    let files = repository_files();
    assert!(
        files.iter().any(|f| f == "src/supervisor/engine.rs"),
        "walk"
    );
    let mut missing = Vec::new();
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).expect("read doc");
        let name = doc
            .strip_prefix(root())
            .unwrap_or(&doc)
            .display()
            .to_string();
        for link in links(&text) {
            let (path, anchor) = link.split_once('#').unwrap_or((&link, ""));
            let target = if path.is_empty() {
                doc.clone()
            } else {
                doc.parent().expect("dir").join(path)
            };
            if !target.exists() {
                missing.push(format!("{name}: link to {link}: no such file"));
            } else if !anchor.is_empty() && target.extension().is_some_and(|e| e == "md") {
                let t = std::fs::read_to_string(&target).expect("read target");
                if !anchors(&t).contains(anchor) {
                    missing.push(format!("{name}: link to {link}: no such heading"));
                }
            }
        }
        for f in file_names(&text) {
            let found = files
                .iter()
                .any(|p| p == &f || p.ends_with(&format!("/{f}")));
            if !found {
                missing.push(format!(
                    "{name}: names `{f}`, which is not in the repository"
                ));
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}
