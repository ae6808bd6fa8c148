//! Resource use of a service's WHOLE process group: RSS summed over every
//! process whose pgid is the service's pgid (a `sh -c 'node …'` service counts
//! the shell and node — not just the leader, process-compose#289's mistake),
//! and CPU% from two samples a short window apart. Sampled only while a
//! `status` request is being served: there is no background sampling.
//!
//! The same membership scan and the one RSS reader ([`rss_bytes`], from
//! `/proc/<pid>/statm`) serve `max_memory` ([`group_rss`]): the engine calls
//! it every few seconds, only while a service with a limit is running. Here,
//! in the engine's layer, because the engine uses it; the control socket's
//! `status` calls [`measure`].
//!
//! CPU time comes from `/proc/<pid>/stat` ([`cpu_ticks`]; the `sysinfo`
//! crate did this before, for about 30 KB of the binary) in clock ticks (10 ms), so over the 200 ms
//! window the resolution is 5 % of a core; good enough to tell idle from busy.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The CPU sampling window of `status`.
pub(crate) const WINDOW: Duration = Duration::from_millis(200);

/// One process at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Proc {
    /// Its process group.
    pub pgid: i32,
    /// Resident set size (bytes).
    pub rss: u64,
    /// CPU time so far (user + system, milliseconds).
    pub cpu_ms: u64,
}

/// Every process of interest at one instant, by pid.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sample {
    /// pid → process.
    pub procs: HashMap<i32, Proc>,
}

/// A process group's use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Usage {
    /// Summed RSS at the second sample (bytes).
    pub rss_bytes: u64,
    /// CPU over the window, 100 = one core busy.
    pub cpu_percent: f64,
    /// Processes in the group at the second sample.
    pub processes: usize,
}

/// Aggregate per group (pure). A process new in `after` contributes all its
/// CPU time (it was born inside the window); one that died in between is lost.
pub(crate) fn aggregate(before: &Sample, after: &Sample, window: Duration) -> HashMap<i32, Usage> {
    let mut out: HashMap<i32, (u64, u64, usize)> = HashMap::new();
    for (pid, p) in &after.procs {
        let earlier = before
            .procs
            .get(pid)
            .filter(|b| b.pgid == p.pgid && b.cpu_ms <= p.cpu_ms)
            .map_or(0, |b| b.cpu_ms);
        let e = out.entry(p.pgid).or_default();
        e.0 += p.rss;
        e.1 += p.cpu_ms - earlier;
        e.2 += 1;
    }
    let ms = window.as_secs_f64() * 1000.0;
    out.into_iter()
        .map(|(g, (rss, cpu, n))| {
            let cpu_percent = if ms > 0.0 {
                cpu as f64 * 100.0 / ms
            } else {
                0.0
            };
            (
                g,
                Usage {
                    rss_bytes: rss,
                    cpu_percent,
                    processes: n,
                },
            )
        })
        .collect()
}

/// The processes in `groups` now. Membership comes from `getpgid` over the
/// pids in /proc (cheap); then only those processes' `stat` and `statm` are
/// read, so a busy machine's thousands of other processes cost nothing.
pub(crate) fn sample(groups: &[i32]) -> Sample {
    let procs = members(groups)
        .into_iter()
        .filter_map(|(pid, pgid)| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let proc = Proc {
                pgid,
                rss: rss_bytes(pid)?,
                cpu_ms: ticks_to_ms(cpu_ticks(&stat)?),
            };
            Some((pid, proc))
        })
        .collect();
    Sample { procs }
}

/// User + system CPU time (clock ticks) of a `/proc/<pid>/stat` line (pure):
/// fields 14 and 15, counted after the `)` that ends the command name (which
/// may itself hold spaces and parentheses).
pub(crate) fn cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut f = rest.split_ascii_whitespace().skip(11);
    let utime: u64 = f.next()?.parse().ok()?;
    let stime: u64 = f.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Clock ticks → milliseconds (`sysconf(_SC_CLK_TCK)`, 100 nearly everywhere).
fn ticks_to_ms(ticks: u64) -> u64 {
    static HZ: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let hz = *HZ.get_or_init(|| {
        nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
            .ok()
            .flatten()
            .and_then(|t| u64::try_from(t).ok())
            .filter(|&t| t > 0)
            .unwrap_or(100)
    });
    ticks * 1000 / hz
}

/// Summed RSS (bytes) of each of `groups`, read cheaply: group membership by
/// `getpgid` over /proc, then one `/proc/<pid>/statm` read per member only.
/// A group with no live member is absent.
pub(crate) fn group_rss(groups: &[i32]) -> HashMap<i32, u64> {
    let mut out = HashMap::new();
    if groups.is_empty() {
        return out;
    }
    for (pid, pgid) in members(groups) {
        // A process gone meanwhile counts nothing.
        if let Some(rss) = rss_bytes(pid) {
            *out.entry(pgid).or_default() += rss;
        }
    }
    out
}

/// The one RSS reader: a process's resident set (bytes) from its `statm`;
/// `None` when it is gone.
pub(crate) fn rss_bytes(pid: i32) -> Option<u64> {
    static PAGE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let page = *PAGE.get_or_init(|| {
        nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
            .ok()
            .flatten()
            .map_or(4096, |p| p as u64)
    });
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    Some(resident_pages(&statm) * page)
}

/// The resident page count of a `statm` line (its second field; pure).
pub(crate) fn resident_pages(statm: &str) -> u64 {
    statm
        .split_ascii_whitespace()
        .nth(1)
        .and_then(|f| f.parse().ok())
        .unwrap_or(0)
}

/// `(pid, pgid)` of every live process whose group is one of `groups`.
fn members(groups: &[i32]) -> Vec<(i32, i32)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let pgid = nix::unistd::getpgid(Some(nix::unistd::Pid::from_raw(pid))).ok()?;
            groups
                .contains(&pgid.as_raw())
                .then_some((pid, pgid.as_raw()))
        })
        .collect()
}

/// Sample `groups` twice, `window` apart (asynchronously: the supervisor keeps
/// running meanwhile). Empty when there is nothing to measure.
pub(crate) async fn measure(groups: &[i32], window: Duration) -> HashMap<i32, Usage> {
    if groups.is_empty() {
        return HashMap::new();
    }
    let before = sample(groups);
    let t0 = Instant::now();
    tokio::time::sleep(window).await;
    let after = sample(groups);
    aggregate(&before, &after, t0.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(v: &[(i32, i32, u64, u64)]) -> Sample {
        Sample {
            procs: v
                .iter()
                .map(|&(pid, pgid, rss, cpu_ms)| (pid, Proc { pgid, rss, cpu_ms }))
                .collect(),
        }
    }

    #[test]
    fn sums_the_whole_group() {
        let before = sample(&[(10, 10, 1000, 50), (11, 10, 5000, 100), (20, 20, 7, 0)]);
        let after = sample(&[(10, 10, 1000, 60), (11, 10, 6000, 190), (20, 20, 7, 0)]);
        let u = aggregate(&before, &after, Duration::from_millis(200));
        assert_eq!(u[&10].rss_bytes, 7000);
        assert_eq!(u[&10].processes, 2);
        assert!((u[&10].cpu_percent - 50.0).abs() < 1e-9);
        assert_eq!(u[&20].cpu_percent, 0.0);
    }

    #[test]
    fn newborns_count_fully_and_reused_pids_do_not_go_negative() {
        let before = sample(&[(10, 10, 1, 500), (12, 99, 1, 900)]);
        // 12 now belongs to group 10 (pid reuse): counted from zero.
        let after = sample(&[(10, 10, 1, 500), (12, 10, 1, 20), (13, 10, 1, 20)]);
        let u = aggregate(&before, &after, Duration::from_millis(100));
        assert!((u[&10].cpu_percent - 40.0).abs() < 1e-9);
        assert_eq!(u[&10].processes, 3);
    }

    #[test]
    fn group_rss_reads_statm_of_the_group() {
        assert_eq!(resident_pages("1000 250 30 1 0 100 0\n"), 250);
        assert_eq!(resident_pages("garbage"), 0);
        let me = nix::unistd::getpgrp().as_raw();
        let rss = group_rss(&[me, i32::MAX]);
        assert!(rss[&me] > 1 << 20, "{rss:?}");
        assert!(!rss.contains_key(&i32::MAX));
    }

    #[test]
    fn cpu_ticks_after_the_command_name() {
        let stat = "42 (a) b (c)) S 1 42 42 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 5 1 2\n";
        assert_eq!(cpu_ticks(stat), Some(10));
        assert_eq!(cpu_ticks("42 (x) S 1"), None);
        assert_eq!(cpu_ticks("garbage"), None);
    }

    #[test]
    fn this_process_uses_cpu() {
        let me = nix::unistd::getpid().as_raw();
        let t0 = Instant::now();
        let mut x = 0u64;
        while t0.elapsed() < Duration::from_millis(100) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let stat = std::fs::read_to_string(format!("/proc/{me}/stat")).unwrap();
        assert!(ticks_to_ms(cpu_ticks(&stat).unwrap()) >= 50, "{stat}");
    }

    #[test]
    fn measures_this_process_group() {
        let me = nix::unistd::getpgrp().as_raw();
        let rt = super::super::runtime::current_thread().unwrap();
        let u = rt.block_on(measure(&[me], Duration::from_millis(50)));
        assert!(u[&me].rss_bytes > 0, "{u:?}");
        assert!(u[&me].processes >= 1);
    }
}
