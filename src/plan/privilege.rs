//! Whether *this* process may apply each service's exec context: switch to
//! its `user`/`group`, raise its `limits`, lower its `nice`. A Plan is valid
//! anywhere (an export is built on a laptop for a server), so these are not
//! Plan problems; `check`, `up` and `run` ask [`problems`] before starting
//! anything, so a service never fails at spawn for a reason known up front.
//!
//! The decision is pure ([`problems`] over an [`Identity`]); only
//! [`Identity::current`] reads the process (ids, effective capabilities,
//! hard limits).

use super::{show_limit as show, ExecContext, Plan, Problems, Resource};

/// Linux capability numbers (capability.h).
const CAP_SETGID: u32 = 6;
const CAP_SETUID: u32 = 7;
const CAP_SYS_RESOURCE: u32 = 24;
const CAP_SYS_NICE: u32 = 23;

/// Who the supervisor is, as far as the exec context is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    /// Effective uid.
    pub euid: u32,
    /// Effective gid.
    pub egid: u32,
    /// Effective capability set (bit N = capability N).
    pub caps: u64,
    /// The current hard limit of each resource.
    pub hard: Vec<(Resource, u64)>,
    /// `fs.nr_open`: the kernel's ceiling for `nofile`, even for root.
    pub nr_open: Option<u64>,
}

impl Identity {
    /// This process.
    pub(crate) fn current() -> Identity {
        // SAFETY: geteuid/getegid cannot fail and touch no memory.
        let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
        let caps = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| cap_eff(&s))
            .unwrap_or(if euid == 0 { u64::MAX } else { 0 });
        let nr_open = std::fs::read_to_string("/proc/sys/fs/nr_open")
            .ok()
            .and_then(|s| s.trim().parse().ok());
        let hard = Resource::ALL
            .into_iter()
            .filter_map(|r| Some((r, r.current_hard()?)))
            .collect();
        Identity {
            euid,
            egid,
            caps,
            hard,
            nr_open,
        }
    }

    fn has(&self, cap: u32) -> bool {
        self.caps & (1 << cap) != 0
    }

    /// How to get `cap`: root normally has it; a root without it (a
    /// container that dropped it) must be given it.
    fn fix(&self, cap: &str) -> String {
        if self.euid == 0 {
            let short = cap.trim_start_matches("CAP_");
            format!("grant up {cap} (in a container: `--cap-add {short}`)")
        } else {
            "run up as root".into()
        }
    }

    fn who(&self) -> String {
        if self.euid == 0 {
            "up runs as root but without".into()
        } else {
            format!("up runs as uid {} (not root), without", self.euid)
        }
    }
}

/// `CapEff:` of a /proc/PID/status text.
pub(crate) fn cap_eff(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("CapEff:"))?;
    u64::from_str_radix(line["CapEff:".len()..].trim(), 16).ok()
}

/// What `me` cannot do of `plan`'s exec contexts.
pub(crate) fn problems(plan: &Plan, me: &Identity) -> Problems {
    let mut out = Problems::default();
    for s in &plan.services {
        let key = |k: &str| format!("services.{}.{k}", s.name);
        check_service(&s.exec, me, &key, &mut out);
    }
    out
}

fn check_service(x: &ExecContext, me: &Identity, key: &dyn Fn(&str) -> String, out: &mut Problems) {
    if let Some(r) = &x.run_as {
        let switch_uid = r.uid.is_some_and(|u| u != me.euid);
        let switch_gid = r.gid != me.egid;
        if switch_uid && !me.has(CAP_SETUID) {
            let what = r.user.as_deref().unwrap_or_default();
            out.push(
                &r.at,
                format!(
                    "{}: cannot run the service as user `{what}`: {} CAP_SETUID; {} (or as `{what}`), or remove `user`",
                    key("user"),
                    me.who(),
                    me.fix("CAP_SETUID")
                ),
            );
        } else if (switch_uid || switch_gid) && !me.has(CAP_SETGID) {
            let (k, what) = match (&r.group, &r.user) {
                (Some(g), _) => ("group", g.as_str()),
                (None, u) => ("user", u.as_deref().unwrap_or_default()),
            };
            out.push(
                &r.at,
                format!(
                    "{}: cannot switch to group `{what}` (gid {}): {} CAP_SETGID; {} (or with that primary group), or remove `{k}`",
                    key(k),
                    r.gid,
                    me.who(),
                    me.fix("CAP_SETGID")
                ),
            );
        }
    }
    for l in &x.limits {
        check_limit(l, me, key, out);
    }
    if let Some(n) = x.nice.as_ref().filter(|n| n.value < 0) {
        if !me.has(CAP_SYS_NICE) {
            out.push(
                &n.at,
                format!(
                    "{}: a negative nice ({}) raises the priority: {} CAP_SYS_NICE; use 0..19, or {}",
                    key("nice"),
                    n.value,
                    me.who(),
                    me.fix("CAP_SYS_NICE")
                ),
            );
        }
    }
}

fn check_limit(l: &super::Limit, me: &Identity, key: &dyn Fn(&str) -> String, out: &mut Problems) {
    let k = key(&format!("limits.{}", l.resource.name()));
    if let (Resource::Nofile, Some(max)) = (l.resource, me.nr_open) {
        if l.hard > max {
            let shown = show(l.hard);
            out.push(&l.at, format!("{k}: {shown} is above the kernel's ceiling fs.nr_open = {max} (even root cannot set it; raise the sysctl or lower the limit)"));
            return;
        }
    }
    let current = me
        .hard
        .iter()
        .find(|(r, _)| *r == l.resource)
        .map(|(_, h)| *h);
    match current {
        Some(h) if l.hard > h && !me.has(CAP_SYS_RESOURCE) => out.push(
            &l.at,
            format!(
                "{k}: the hard limit {} is above up's own hard limit {} and raising it needs CAP_SYS_RESOURCE: {} it; lower the limit, or {}",
                show(l.hard),
                show(h),
                me.who(),
                me.fix("CAP_SYS_RESOURCE")
            ),
        ),
        _ => {}
    }
}

#[cfg(test)]
#[path = "privilege_tests.rs"]
mod tests;
