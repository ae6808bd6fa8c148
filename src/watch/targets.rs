//! What to watch and what a changed path means (pure: a Plan in, paths and
//! triggers out). The config inputs (supervisor.toml, env files) are watched
//! through their directory, never as files: editors that save by writing a
//! new file and renaming it over the old one (vim, JetBrains, `sed -i`)
//! replace the inode, and a watch on the old inode would go silent. A
//! service's `watch` directory is watched recursively; its parent too, so
//! that the directory appearing or being replaced is seen.

use std::path::{Path, PathBuf};

use super::debounce::Trigger;
use super::ignore::ignored;
use crate::plan::{Plan, ServicePlan};

/// One watching service.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Watched {
    name: String,
    cwd: PathBuf,
    paths: Vec<PathBuf>,
    ignore: Vec<String>,
}

/// Everything `up --watch` follows for one Plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Targets {
    inputs: Vec<PathBuf>,
    services: Vec<Watched>,
    /// The services' own log files: writing them must not restart anything.
    logs: Vec<PathBuf>,
}

impl Targets {
    /// For `plan`, over the services `up` runs.
    pub(crate) fn new(plan: &Plan, services: &[&ServicePlan]) -> Targets {
        let watched = services.iter().filter_map(|s| {
            let w = s.watch.as_ref()?;
            Some(Watched {
                name: s.name.clone(),
                cwd: s.cwd.clone(),
                paths: w.paths.clone(),
                ignore: w.ignore.clone(),
            })
        });
        Targets {
            inputs: plan.inputs.clone(),
            services: watched.collect(),
            logs: services
                .iter()
                .filter_map(|s| s.log_file.as_ref().map(|l| l.path.clone()))
                .collect(),
        }
    }

    /// The names of the services that restart on changes.
    pub(crate) fn services(&self) -> Vec<&str> {
        self.services.iter().map(|w| w.name.as_str()).collect()
    }

    /// Directories to watch without descending (the inputs' and the watch
    /// paths' parents), then the roots to watch recursively when they are
    /// directories (the `watch` paths).
    pub(crate) fn dirs(&self) -> (Vec<PathBuf>, Vec<PathBuf>) {
        let roots: Vec<PathBuf> = self
            .services
            .iter()
            .flat_map(|w| w.paths.iter().cloned())
            .collect();
        let mut flat: Vec<PathBuf> = self
            .inputs
            .iter()
            .chain(&roots)
            .filter_map(|p| p.parent().map(Path::to_path_buf))
            .collect();
        flat.sort();
        flat.dedup();
        (flat, roots)
    }

    /// Whether a directory (new, or met while walking) is to be watched with
    /// everything below it: it is in a service's `watch` directory, not
    /// ignored there.
    pub(crate) fn descend(&self, dir: &Path) -> bool {
        self.services.iter().any(|w| {
            w.paths
                .iter()
                .any(|root| dir.starts_with(root) && !ignored(&w.ignore, &w.rel(root, dir)))
        })
    }

    /// What a change of `path` asks for. A config input only reloads (even
    /// when it also lies under a `watch` path: the reload restarts what it
    /// changes); a service's log file asks for nothing.
    pub(crate) fn classify(&self, path: &Path) -> Vec<Trigger> {
        if self.inputs.iter().any(|i| i == path) {
            return vec![Trigger::Reload];
        }
        if self.logs.iter().any(|l| is_log(l, path)) {
            return Vec::new();
        }
        let hit = |w: &&Watched| {
            w.paths
                .iter()
                .any(|root| path.starts_with(root) && !ignored(&w.ignore, &w.rel(root, path)))
        };
        self.services
            .iter()
            .filter(hit)
            .map(|w| Trigger::Restart(w.name.clone()))
            .collect()
    }
}

impl Watched {
    /// `path` as the ignore globs see it: from the service's directory, or
    /// from the watch root's parent when the root lies outside it.
    fn rel(&self, root: &Path, path: &Path) -> PathBuf {
        let base = root.parent().unwrap_or(root);
        path.strip_prefix(&self.cwd)
            .or_else(|_| path.strip_prefix(base))
            .map_or_else(|_| path.to_path_buf(), Path::to_path_buf)
    }
}

/// `log` itself or one of its rotations (`log.1`, …).
fn is_log(log: &Path, path: &Path) -> bool {
    if path == log {
        return true;
    }
    let (Some(l), Some(p)) = (log.to_str(), path.to_str()) else {
        return false;
    };
    p.strip_prefix(l)
        .and_then(|rest| rest.strip_prefix('.'))
        .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{LogFile, WatchPaths, DEFAULT_WATCH_IGNORE};
    use crate::supervisor::testkit::{plan, sh};

    fn targets() -> Targets {
        let mut api = sh("api", "true");
        api.cwd = "/app/api".into();
        api.watch = Some(WatchPaths {
            paths: vec!["/app/api/src".into(), "/app/api/package.json".into()],
            ignore: DEFAULT_WATCH_IGNORE
                .iter()
                .map(|s| s.to_string())
                .chain(["src/generated".to_string()])
                .collect(),
        });
        api.log_file = Some(LogFile {
            path: "/app/api/src/api.log".into(),
            max_size: 1,
            keep: 1,
        });
        let web = sh("web", "true");
        let mut p = (*plan(vec![api, web])).clone();
        p.inputs = vec!["/app/supervisor.toml".into(), "/app/.env".into()];
        let services: Vec<&ServicePlan> = p.services.iter().collect();
        Targets::new(&p, &services)
    }

    fn restart(name: &str) -> Vec<Trigger> {
        vec![Trigger::Restart(name.into())]
    }

    #[test]
    fn changes_map_to_a_reload_or_the_watching_service() {
        let t = targets();
        assert_eq!(t.services(), vec!["api"]);
        let c = |p: &str| t.classify(Path::new(p));
        assert_eq!(c("/app/.env"), vec![Trigger::Reload]);
        assert_eq!(c("/app/supervisor.toml"), vec![Trigger::Reload]);
        assert_eq!(c("/app/other.toml"), vec![]);
        assert_eq!(c("/app/api/src/a/b.js"), restart("api"));
        assert_eq!(c("/app/api/src"), restart("api"));
        assert_eq!(c("/app/api/package.json"), restart("api"));
        assert_eq!(c("/app/api/package-lock.json"), vec![]);
        assert_eq!(c("/app/api/src/node_modules/x.js"), vec![]);
        assert_eq!(c("/app/api/src/.b.js.swp"), vec![]);
        assert_eq!(c("/app/api/src/generated/x.js"), vec![]);
        assert_eq!(c("/app/api/src/api.log"), vec![]);
        assert_eq!(c("/app/api/src/api.log.3"), vec![]);
        assert_eq!(c("/app/api/src/api.log.js"), restart("api"));
    }

    #[test]
    fn directories_watched_and_descended() {
        let t = targets();
        let (flat, roots) = t.dirs();
        assert_eq!(flat, vec![PathBuf::from("/app"), PathBuf::from("/app/api")]);
        assert_eq!(
            roots,
            vec![
                PathBuf::from("/app/api/src"),
                PathBuf::from("/app/api/package.json")
            ]
        );
        assert!(t.descend(Path::new("/app/api/src/new")));
        assert!(!t.descend(Path::new("/app/api/src/node_modules")));
        assert!(!t.descend(Path::new("/app/api/src/generated")));
        assert!(!t.descend(Path::new("/app/api/lib")));
    }
}
