//! `export`: the same Plan handed to the engines that run services at scale —
//! systemd on a single host, Kubernetes on a cluster — instead of growing a
//! scheduler of our own. Rendering is pure (Plan → files in memory); only
//! [`write_files`] touches the disk, and it is the only place secrets are
//! written: files marked [`OutFile::secret`] get mode 0600.
//!
//! Variables the Plan took from the OS environment via `inherit` are host-local
//! (PATH, HOME, …) and are not exported: the target supplies its own.

pub(crate) mod args;
mod escape;
mod exec;
pub(crate) mod kubernetes;
pub(crate) mod systemd;
mod yaml;

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::env::{Env, EnvVar, Source};

/// One generated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OutFile {
    /// File name inside the output directory.
    pub name: String,
    /// Contents.
    pub contents: String,
    /// Holds secret values: written with mode 0600.
    pub secret: bool,
}

/// The variables worth exporting: everything but `inherit`-ed OS variables.
pub(crate) fn exported_vars(env: &Env) -> impl Iterator<Item = (&str, &EnvVar)> {
    env.vars
        .iter()
        .filter(|(_, v)| !matches!(v.source, Source::Os | Source::User { .. }))
        .map(|(k, v)| (k.as_str(), v))
}

/// `text` as a 0644 file may show it (comments, annotations): URL passwords
/// masked, then every secret the Plan knows.
pub(crate) fn shown(plan: &crate::plan::Plan, text: &str) -> String {
    let mut spans = crate::secret::Spans::default();
    for r in crate::secret::url_secrets(text) {
        spans.push(r, None);
    }
    plan.redactor().redact(&spans.display(text)).into_owned()
}

/// Write `files` into `dir` (created if missing). Secret files are created
/// 0600 from the start (never world-readable, not even briefly); others 0644.
/// Two files of the same name are refused before anything is written (the
/// Plan already refuses services whose exported names collide).
pub(crate) fn write_files(dir: &Path, files: &[OutFile]) -> std::io::Result<Vec<PathBuf>> {
    let mut names = std::collections::BTreeSet::new();
    if let Some(dup) = files.iter().find(|f| !names.insert(f.name.as_str())) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "two generated files are both named {}; nothing written",
                dup.name
            ),
        ));
    }
    fs::create_dir_all(dir)?;
    let mut written = Vec::with_capacity(files.len());
    for f in files {
        let path = dir.join(&f.name);
        let mode = if f.secret { 0o600 } else { 0o644 };
        // Remove first: OpenOptions::mode applies only to newly created files.
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&path)?;
        file.write_all(f.contents.as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

/// The one name mapping, shared with the Plan's collision check.
pub(crate) use crate::plan::names::dns_label;

/// Seconds of a duration, rounded up, at least `min`.
pub(crate) fn secs_ceil(d: std::time::Duration, min: u64) -> u64 {
    let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    s.max(min)
}

/// A duration as systemd/humans write it: `250ms`, `10s`, `5min`.
pub(crate) fn human_duration(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        "0".into()
    } else if ms % 60_000 == 0 {
        format!("{}min", ms / 60_000)
    } else if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

#[cfg(test)]
pub(crate) mod testplan;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        use std::time::Duration;
        assert_eq!(human_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(human_duration(Duration::from_secs(10)), "10s");
        assert_eq!(human_duration(Duration::from_secs(300)), "5min");
        assert_eq!(human_duration(Duration::ZERO), "0");
        assert_eq!(secs_ceil(Duration::from_millis(1500), 1), 2);
        assert_eq!(secs_ceil(Duration::ZERO, 1), 1);
    }

    #[test]
    fn duplicate_names_write_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let f = |contents: &str| OutFile {
            name: "a.yaml".into(),
            contents: contents.into(),
            secret: false,
        };
        let e = write_files(&out, &[f("1"), f("2")]).unwrap_err();
        assert!(e.to_string().contains("a.yaml"), "{e}");
        assert!(!out.exists());
    }

    #[test]
    fn secret_files_are_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let files = vec![
            OutFile {
                name: "a.env".into(),
                contents: "X=1\n".into(),
                secret: true,
            },
            OutFile {
                name: "a.service".into(),
                contents: "[Unit]\n".into(),
                secret: false,
            },
        ];
        write_files(dir.path(), &files).unwrap();
        // Twice: an existing file keeps the right mode too.
        write_files(dir.path(), &files).unwrap();
        let mode = |n: &str| {
            fs::metadata(dir.path().join(n))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("a.env"), 0o600);
        assert_eq!(mode("a.service"), 0o644);
    }
}

#[cfg(test)]
mod validators {
    //! The real validators on the rendered output: `systemd-analyze verify`
    //! (Debian `systemd`) and `kubernetes-validate` (PyPI); scripts/test.sh
    //! installs both.
    use std::process::Command;

    use super::*;

    fn run(cmd: &mut Command) -> (bool, String) {
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run {cmd:?} ({e}); scripts/test.sh installs it"));
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    #[test]
    fn systemd_analyze_verify_accepts_units() {
        let dir = tempfile::tempdir().unwrap();
        let mut plan = testplan::plan();
        for svc in &mut plan.services {
            // verify checks that ExecStart= and WorkingDirectory= exist.
            svc.program = "/bin/sh".into();
            svc.cwd = dir.path().to_path_buf();
        }
        let opts = systemd::Options {
            prefix: "uaol".into(),
            binary: "/bin/true".into(),
            out_dir: dir.path().to_path_buf(),
        };
        let paths = write_files(dir.path(), &systemd::render(&plan, &opts)).unwrap();
        let units: Vec<_> = paths
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e != "env"))
            .collect();
        let (ok, text) = run(Command::new("systemd-analyze")
            .arg("verify")
            .args(&units)
            .env("SYSTEMD_UNIT_PATH", format!("{}:", dir.path().display())));
        // Keys newer than the installed systemd are reported and ignored; nothing else may be.
        let unexpected: Vec<&str> = text
            .lines()
            .filter(|l| !l.contains("Unknown key 'RestartSteps'"))
            .filter(|l| !l.contains("Unknown key 'RestartMaxDelaySec'"))
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert!(
            ok && unexpected.is_empty(),
            "systemd-analyze verify:\n{text}"
        );
    }

    #[test]
    fn kubernetes_validate_accepts_manifests() {
        let dir = tempfile::tempdir().unwrap();
        let opts = kubernetes::Options {
            image: "registry.example.com/uaol:1.0".into(),
            namespace: Some("uaol".into()),
            part_of: "uaol".into(),
        };
        let plan = testplan::plan();
        let paths = write_files(dir.path(), &kubernetes::render(&plan, &opts)).unwrap();
        let (ok, text) = run(Command::new("kubernetes-validate")
            .arg("--strict")
            .args(&paths));
        assert!(ok, "kubernetes-validate:\n{text}");
        assert!(!text.contains("ERROR"), "{text}");
    }
}
