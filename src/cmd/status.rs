//! `status [--json] [--check]`: every service of a running `up`, as a table
//! modelled on `s6-svstat` / `docker compose ps` — state, pid, uptime,
//! restarts, last exit and when, ready, and RSS / CPU% of the whole process
//! group — or as JSON. `--check` exits 0 only when every service is ready or
//! completed and none failed (a container HEALTHCHECK).

use std::fmt::Write as _;

use super::Outcome;
use crate::cli::{Cli, StatusArgs};
use crate::cmd::remote::{call, print_out, QUICK_TIMEOUT};
use crate::control::protocol::{Request, ServiceView};
use crate::error::Error;
use crate::exit;
use crate::supervisor::state::StateKind;

/// Run `status`.
pub(crate) fn run(cli: &Cli, args: &StatusArgs) -> Outcome {
    if args.watch {
        return super::status_watch::run(cli, args);
    }
    let req = Request::Status { watch: false };
    let r = call(cli, args.socket.as_deref(), &req, QUICK_TIMEOUT)?;
    let services = r.services.unwrap_or_default();
    let text = if args.json {
        serde_json::to_string_pretty(&services)? + "\n"
    } else {
        let mut t = render(&services);
        if let Some(c) = &r.containment {
            t.push_str(&format!("containment: {c}\n"));
        }
        if let Some(p) = &r.plan {
            let age = age(p.age_secs);
            t.push_str(&format!(
                "plan generation {}, loaded {age} ago\n",
                p.generation
            ));
        }
        t
    };
    print_out(&text);
    if args.check {
        let bad = unhealthy(&services);
        if !bad.is_empty() {
            return Err(Error::Unhealthy(bad));
        }
    }
    Ok(exit::OK)
}

/// Why the set is not healthy; empty when every service is ready or
/// completed and none failed.
pub(crate) fn unhealthy(services: &[ServiceView]) -> Vec<String> {
    services
        .iter()
        .filter(|s| !s.ready || s.state == StateKind::Failed)
        .map(|s| match &s.detail {
            Some(d) => format!("{} is {} ({d})", s.name, s.state),
            None => format!("{} is {}", s.name, s.state),
        })
        .collect()
}

/// The human table, then one line per failed service saying why.
pub(crate) fn render(services: &[ServiceView]) -> String {
    const HEAD: [&str; 9] = [
        "SERVICE",
        "STATE",
        "PID",
        "UPTIME",
        "RESTARTS",
        "LAST EXIT",
        "READY",
        "RSS",
        "CPU",
    ];
    let mut rows = vec![HEAD.map(str::to_owned).to_vec()];
    for s in services {
        rows.push(row(s));
    }
    let widths: Vec<usize> = (0..HEAD.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in &rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            let _ = write!(line, "{cell:<w$}  ", w = widths[c]);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    for s in services.iter().filter(|s| s.detail.is_some()) {
        let _ = writeln!(
            out,
            "{}: {}",
            s.name,
            s.detail.as_deref().unwrap_or_default()
        );
    }
    out
}

fn row(s: &ServiceView) -> Vec<String> {
    let dash = || "-".to_owned();
    vec![
        s.name.clone(),
        s.state.to_string(),
        s.pid.map_or_else(dash, |p| p.to_string()),
        s.uptime_secs.map_or_else(dash, age),
        s.restarts.to_string(),
        s.last_exit
            .as_ref()
            .map_or_else(dash, |e| format!("{} ({} ago)", e.reason, age(e.ago_secs))),
        if s.ready { "yes" } else { "no" }.to_owned(),
        s.rss_bytes.map_or_else(dash, size),
        s.cpu_percent.map_or_else(dash, |c| format!("{c:.1}%")),
    ]
}

/// `42s`, `5m03s`, `2h07m`, `3d04h`.
pub(crate) fn age(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s if s < 86_400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        s => format!("{}d{:02}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// Binary units, like `ps`/`top`: `812K`, `12.4M`, `1.1G`.
pub(crate) fn size(bytes: u64) -> String {
    const K: f64 = 1024.0;
    let b = bytes as f64;
    if b < K * K {
        format!("{:.0}K", b / K)
    } else if b < K * K * K {
        format!("{:.1}M", b / (K * K))
    } else {
        format!("{:.1}G", b / (K * K * K))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::protocol::LastExit;

    fn svc(name: &str, state: &str, ready: bool) -> ServiceView {
        ServiceView {
            name: name.into(),
            state: serde_json::from_value(serde_json::Value::from(state)).unwrap(),
            pid: None,
            started_at: None,
            uptime_secs: None,
            restarts: 0,
            last_exit: None,
            ready,
            detail: None,
            rss_bytes: None,
            cpu_percent: None,
            processes: None,
        }
    }

    #[test]
    fn units() {
        assert_eq!(age(42), "42s");
        assert_eq!(age(303), "5m03s");
        assert_eq!(age(7620), "2h07m");
        assert_eq!(age(273_600), "3d04h");
        assert_eq!(size(812 * 1024), "812K");
        assert_eq!(size(13 * 1024 * 1024), "13.0M");
        assert_eq!(size(3 * 1024 * 1024 * 1024 / 2), "1.5G");
    }

    #[test]
    fn table() {
        let mut db = svc("db", "ready", true);
        db.pid = Some(4242);
        db.uptime_secs = Some(65);
        db.rss_bytes = Some(12 * 1024 * 1024 + 300 * 1024);
        db.cpu_percent = Some(0.5);
        let mut worker = svc("worker", "failed", false);
        worker.restarts = 5;
        worker.last_exit = Some(LastExit {
            reason: "exit code 1".into(),
            at: 0,
            ago_secs: 3,
        });
        worker.detail = Some("crash loop: 5 restarts in 60s".into());
        let migrate = svc("migrate", "completed", true);
        insta::assert_snapshot!(render(&[db, worker, migrate]));
    }

    #[test]
    fn check_needs_every_service_ready_and_none_failed() {
        assert!(unhealthy(&[svc("a", "ready", true), svc("m", "completed", true)]).is_empty());
        let bad = unhealthy(&[svc("a", "ready", true), svc("b", "starting", false)]);
        assert_eq!(bad, vec!["b is starting"]);
        assert_eq!(unhealthy(&[svc("c", "failed", true)]).len(), 1);
    }
}
