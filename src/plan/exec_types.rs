//! What a service's process starts as, besides argv, env and cwd — systemd's
//! "exec context": the user and groups it runs as, its resource limits, umask
//! and nice value. Pure data, resolved once when the Plan is built (names →
//! ids, supplementary groups from the user's entry), so the child applies
//! plain numbers between fork and exec without allocating or reading files.
//! (Linux resource ids are here too: [`Resource::id`].)

/// `user`, `group`, `limits`, `umask`, `nice` of one service. The default
/// changes nothing: the child keeps the supervisor's credentials and limits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecContext {
    /// `user` / `group`, resolved; `None` when neither is set.
    pub run_as: Option<RunAs>,
    /// `limits`, in the order of [`Resource::ALL`].
    pub limits: Vec<Limit>,
    /// `umask` (permission bits only).
    pub umask: Option<u32>,
    /// `nice`, -20..=19.
    pub nice: Option<Nice>,
}

impl ExecContext {
    /// Whether the child needs any setup at all.
    pub fn is_empty(&self) -> bool {
        self == &ExecContext::default()
    }

    /// Short phrases for `check` (`as app (uid 1001, gid 1001, groups 1001,27)`,
    /// `limits nofile=1024:65536`, `umask 0027`, `nice 5`).
    pub fn summary(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(r) = &self.run_as {
            let groups: Vec<String> = r.groups.iter().map(u32::to_string).collect();
            let who = r.user.as_deref().or(r.group.as_deref()).unwrap_or_default();
            let uid = r.uid.map_or("kept".to_string(), |u| u.to_string());
            out.push(format!(
                "as {who} (uid {uid}, gid {}, groups {})",
                r.gid,
                groups.join(",")
            ));
        }
        if !self.limits.is_empty() {
            let l: Vec<String> = self
                .limits
                .iter()
                .map(|l| format!("{}={}", l.resource.name(), l.systemd_value()))
                .collect();
            out.push(format!("limits {}", l.join(" ")));
        }
        if let Some(m) = self.umask {
            out.push(format!("umask {m:04o}"));
        }
        if let Some(n) = &self.nice {
            out.push(format!("nice {}", n.value));
        }
        out
    }
}

/// Who the service runs as: the ids the child switches to, in the order
/// setgroups → setgid → setuid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunAs {
    /// `user` as written (a name or a number), when set.
    pub user: Option<String>,
    /// `group` as written, when set.
    pub group: Option<String>,
    /// The user's login name from its passwd entry (`None`: a numeric uid
    /// without an entry, or only `group` set).
    pub login: Option<String>,
    /// The user's home directory from its passwd entry.
    pub home: Option<String>,
    /// The uid to switch to; `None` with only `group` set (the uid is kept).
    pub uid: Option<u32>,
    /// The primary gid.
    pub gid: u32,
    /// Supplementary groups (`initgroups`: the user's groups, the primary
    /// one included; only the primary one with only `group` set).
    pub groups: Vec<u32>,
    /// Where `user` (else `group`) is written, `file:line:col`, for `check`.
    pub at: String,
}

/// `nice = N`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nice {
    /// -20 (most favourable) ..= 19.
    pub value: i32,
    /// Where it is written (`file:line:col`), for `check`.
    pub at: String,
}

/// One `limits.NAME = …` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    /// Which resource.
    pub resource: Resource,
    /// The soft limit ([`INFINITY`] = unlimited).
    pub soft: u64,
    /// The hard limit ([`INFINITY`] = unlimited).
    pub hard: u64,
    /// Where it is written (`file:line:col`), for `check`.
    pub at: String,
}

/// The type of setrlimit's `resource` argument (glibc and musl differ).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub type RlimitId = libc::__rlimit_resource_t;
/// The type of setrlimit's `resource` argument (glibc and musl differ).
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub type RlimitId = libc::c_int;

/// `RLIM_INFINITY`.
pub const INFINITY: u64 = u64::MAX;

/// A limit value as systemd and `check` print it (`infinity` or the number).
pub fn show_limit(v: u64) -> String {
    if v == INFINITY {
        "infinity".into()
    } else {
        v.to_string()
    }
}

impl Limit {
    /// systemd's value: `N`, or `SOFT:HARD` when they differ.
    pub fn systemd_value(&self) -> String {
        if self.soft == self.hard {
            show_limit(self.hard)
        } else {
            format!("{}:{}", show_limit(self.soft), show_limit(self.hard))
        }
    }
}

/// What a limit's number counts, for parsing and for printing it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Bytes: a size string (`"64MiB"`) or an integer.
    Bytes,
    /// A count (files, processes, signals…): an integer.
    Count,
    /// CPU seconds: an integer or a duration string.
    Seconds,
    /// Microseconds (`rttime`): an integer or a duration string.
    Micros,
}

/// The resources of setrlimit(2), with systemd's `LimitX=` names in lower case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Resource {
    /// `LimitCPU=` / RLIMIT_CPU.
    Cpu,
    /// `LimitFSIZE=` / RLIMIT_FSIZE.
    Fsize,
    /// `LimitDATA=` / RLIMIT_DATA.
    Data,
    /// `LimitSTACK=` / RLIMIT_STACK.
    Stack,
    /// `LimitCORE=` / RLIMIT_CORE.
    Core,
    /// `LimitRSS=` / RLIMIT_RSS.
    Rss,
    /// `LimitNOFILE=` / RLIMIT_NOFILE.
    Nofile,
    /// `LimitAS=` / RLIMIT_AS.
    As,
    /// `LimitNPROC=` / RLIMIT_NPROC.
    Nproc,
    /// `LimitMEMLOCK=` / RLIMIT_MEMLOCK.
    Memlock,
    /// `LimitLOCKS=` / RLIMIT_LOCKS.
    Locks,
    /// `LimitSIGPENDING=` / RLIMIT_SIGPENDING.
    Sigpending,
    /// `LimitMSGQUEUE=` / RLIMIT_MSGQUEUE.
    Msgqueue,
    /// `LimitNICE=` / RLIMIT_NICE.
    Nice,
    /// `LimitRTPRIO=` / RLIMIT_RTPRIO.
    Rtprio,
    /// `LimitRTTIME=` / RLIMIT_RTTIME.
    Rttime,
}

impl Resource {
    /// Every resource, in setrlimit order.
    pub const ALL: [Resource; 16] = [
        Resource::Cpu,
        Resource::Fsize,
        Resource::Data,
        Resource::Stack,
        Resource::Core,
        Resource::Rss,
        Resource::Nofile,
        Resource::As,
        Resource::Nproc,
        Resource::Memlock,
        Resource::Locks,
        Resource::Sigpending,
        Resource::Msgqueue,
        Resource::Nice,
        Resource::Rtprio,
        Resource::Rttime,
    ];

    /// The config key (systemd's name without `Limit`, lower case).
    pub fn name(self) -> &'static str {
        use Resource::*;
        match self {
            Cpu => "cpu",
            Fsize => "fsize",
            Data => "data",
            Stack => "stack",
            Core => "core",
            Rss => "rss",
            Nofile => "nofile",
            As => "as",
            Nproc => "nproc",
            Memlock => "memlock",
            Locks => "locks",
            Sigpending => "sigpending",
            Msgqueue => "msgqueue",
            Nice => "nice",
            Rtprio => "rtprio",
            Rttime => "rttime",
        }
    }

    /// The resource called `name`.
    pub fn from_name(name: &str) -> Option<Resource> {
        Resource::ALL.into_iter().find(|r| r.name() == name)
    }

    /// What its number counts.
    pub fn unit(self) -> Unit {
        use Resource::*;
        match self {
            Fsize | Data | Stack | Core | Rss | As | Memlock | Msgqueue => Unit::Bytes,
            Cpu => Unit::Seconds,
            Rttime => Unit::Micros,
            Nofile | Nproc | Locks | Sigpending | Nice | Rtprio => Unit::Count,
        }
    }

    /// The setrlimit(2) resource id.
    pub fn id(self) -> RlimitId {
        use Resource::*;
        match self {
            Cpu => libc::RLIMIT_CPU,
            Fsize => libc::RLIMIT_FSIZE,
            Data => libc::RLIMIT_DATA,
            Stack => libc::RLIMIT_STACK,
            Core => libc::RLIMIT_CORE,
            Rss => libc::RLIMIT_RSS,
            Nofile => libc::RLIMIT_NOFILE,
            As => libc::RLIMIT_AS,
            Nproc => libc::RLIMIT_NPROC,
            Memlock => libc::RLIMIT_MEMLOCK,
            Locks => libc::RLIMIT_LOCKS,
            Sigpending => libc::RLIMIT_SIGPENDING,
            Msgqueue => libc::RLIMIT_MSGQUEUE,
            Nice => libc::RLIMIT_NICE,
            Rtprio => libc::RLIMIT_RTPRIO,
            Rttime => libc::RLIMIT_RTTIME,
        }
    }

    /// The current hard limit of this process (`None` if getrlimit fails).
    pub fn current_hard(self) -> Option<u64> {
        // SAFETY: getrlimit writes into a local struct we own.
        unsafe {
            let mut lim: libc::rlimit = std::mem::zeroed();
            (libc::getrlimit(self.id(), &mut lim) == 0).then_some(lim.rlim_max as u64)
        }
    }

    /// The systemd directive (`LimitNOFILE`).
    pub fn systemd(self) -> String {
        format!("Limit{}", self.name().to_ascii_uppercase())
    }
}
