//! The wire protocol: JSON lines over the Unix socket. The client sends ONE
//! request line, the server answers ONE response line and closes. Times are
//! sent both as Unix seconds and as ages measured on the server, so the
//! client never compares clocks. No environment value is ever part of it.

use serde::{Deserialize, Serialize};

use crate::supervisor::state::StateKind;

/// Largest request line the server reads (bytes).
pub(crate) const MAX_REQUEST: u64 = 16 * 1024;

/// A request line: `{"cmd":"status"}`, `{"cmd":"logs","services":["api"],"lines":50}`,
/// `{"cmd":"restart","service":"api"}` (also `stop`, `start`). Streaming:
/// `{"cmd":"logs","follow":true}`, `{"cmd":"events"}`, `{"cmd":"status","watch":true}`
/// answer with one [`Item`] per line until the client disconnects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "lowercase", deny_unknown_fields)]
pub(crate) enum Request {
    /// Every service's status, with process-group RSS and CPU%.
    Status {
        /// Stream a new status on every change.
        #[serde(default, skip_serializing_if = "is_false")]
        watch: bool,
    },
    /// The last `lines` output lines of some services (all when none),
    /// merged in order; `follow` streams new lines after them.
    Logs {
        /// One service (the original form).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        service: Option<String>,
        /// Services (none: all).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        services: Vec<String>,
        /// How many lines of history, in all.
        #[serde(default = "default_lines")]
        lines: usize,
        /// Keep streaming.
        #[serde(default, skip_serializing_if = "is_false")]
        follow: bool,
    },
    /// Stream transitions and supervisor notices.
    Events,
    /// Start a stopped service.
    Start {
        /// Service name.
        service: String,
    },
    /// Stop a service.
    Stop {
        /// Service name.
        service: String,
    },
    /// Restart a service (and the dependents waiting on it).
    Restart {
        /// Service name.
        service: String,
    },
    /// Read the configuration again; apply the difference (see `reload.rs`).
    Reload {
        /// Only say what would change.
        #[serde(default, skip_serializing_if = "is_false")]
        dry_run: bool,
    },
}

fn default_lines() -> usize {
    100
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Request {
    /// Whether the answer is a stream of [`Item`]s rather than one [`Response`].
    pub(crate) fn streams(&self) -> bool {
        matches!(
            self,
            Request::Events | Request::Logs { follow: true, .. } | Request::Status { watch: true }
        )
    }
}

/// One line of a streamed answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum Item {
    /// An output line.
    Line {
        /// When it was read (RFC 3339; none for history lines).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ts: Option<String>,
        /// Service.
        service: String,
        /// `stdout` / `stderr`.
        stream: String,
        /// The line, secrets masked.
        line: String,
    },
    /// A state transition.
    Transition {
        /// When (RFC 3339).
        ts: String,
        /// Service.
        service: String,
        /// From.
        from: StateKind,
        /// To.
        to: StateKind,
        /// The run's pid.
        pid: Option<i32>,
        /// Milliseconds spent in `from`.
        after_ms: u64,
        /// Why (exit status, failure, backoff), when there is something to say.
        reason: Option<String>,
    },
    /// The supervisor's own news (gate, stopping).
    Supervisor {
        /// When (RFC 3339).
        ts: String,
        /// What.
        message: String,
    },
    /// This client read too slowly: `dropped` items were lost here.
    Lagged {
        /// How many.
        dropped: u64,
    },
    /// First item of a `logs` stream: every supervised service, in start
    /// order (a client aligns and colours names like `up` does).
    Services {
        /// The names.
        names: Vec<String>,
    },
    /// A full status (`status --watch`).
    Status {
        /// Every service.
        services: Vec<ServiceView>,
    },
}

/// Why a request failed, for the client's exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ErrorKind {
    /// The peer's uid is not allowed.
    Denied,
    /// Not a request line we understand.
    BadRequest,
    /// No such service.
    UnknownService,
    /// Not possible now (starting/stopping, supervisor shutting down).
    Conflict,
    /// The service ended up failed / crashing.
    Failed,
    /// The supervisor is gone or broken.
    Unavailable,
    /// `reload`: the new configuration has problems, or its database failed
    /// the probe; nothing was touched (`exit_code` says which, as `check`).
    Invalid,
}

/// A response line: `ok` plus exactly one payload, or `error` and `kind`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub(crate) struct Response {
    /// Whether the request succeeded.
    pub ok: bool,
    /// What went wrong (when not `ok`; also set with `kind = failed` on actions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Failure class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ErrorKind>,
    /// `status`: every service, in start order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<Vec<ServiceView>>,
    /// `status`: which containment is in force, and why for a fallback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containment: Option<String>,
    /// `logs`: the lines, oldest first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<LogLine>>,
    /// `logs`: every supervised service, in start order (boxed: rare, and
    /// keeps every `Result<_, Response>` small).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub names: Option<Box<[String]>>,
    /// `start` / `stop` / `restart`: where the service ended up (the last
    /// copy, for a replicated service: all of them are in `actions`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Box<ActionResult>>,
    /// `start` / `stop` / `restart` of a replicated service: each copy, in
    /// the order acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions: Option<Vec<ActionResult>>,
    /// `reload`: what changed and what was done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reload: Option<Box<ReloadResult>>,
    /// `status`: the Plan in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Box<PlanInfo>>,
    /// The exit code a client should end with (set where `kind` alone does
    /// not say it: a refused reload ends like `check`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<u8>,
}

impl Response {
    /// A failure.
    pub(crate) fn error(kind: ErrorKind, message: impl Into<String>) -> Response {
        Response {
            ok: false,
            error: Some(message.into()),
            kind: Some(kind),
            ..Response::default()
        }
    }
}

/// One service in a `status` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ServiceView {
    /// Name.
    pub name: String,
    /// `pending`, `starting`, `running`, `ready`, `stopping`, `backoff`,
    /// `exited`, `completed`, `failed`, `stopped`.
    pub state: StateKind,
    /// Leader pid (= process group id) while running.
    pub pid: Option<i32>,
    /// When the current run was spawned (Unix seconds).
    pub started_at: Option<u64>,
    /// Seconds since then.
    pub uptime_secs: Option<u64>,
    /// Restarts so far.
    pub restarts: u32,
    /// The last exit.
    pub last_exit: Option<LastExit>,
    /// Ready (or completed).
    pub ready: bool,
    /// Why it failed; for a service held back by a failed restart, what it waits for.
    pub detail: Option<String>,
    /// Resident memory of the whole process group (bytes).
    pub rss_bytes: Option<u64>,
    /// CPU of the whole process group over the sampling window (100 = one core).
    pub cpu_percent: Option<f64>,
    /// Processes in the group.
    pub processes: Option<usize>,
}

/// A service's last exit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct LastExit {
    /// `exit code 1`, `killed by SIGKILL`.
    pub reason: String,
    /// When (Unix seconds).
    pub at: u64,
    /// Seconds ago.
    pub ago_secs: u64,
}

/// One output line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LogLine {
    /// The service (empty in answers of older servers).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub service: String,
    /// `stdout` or `stderr`.
    pub stream: String,
    /// The line, secrets masked.
    pub line: String,
}

/// The Plan in force: its generation (1 at start, +1 per applied reload)
/// and when it was loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PlanInfo {
    /// 1, 2, …
    pub generation: u64,
    /// When (Unix seconds).
    pub loaded_at: u64,
    /// Seconds ago.
    pub age_secs: u64,
}

/// The outcome of `reload` (also of a refused one: then `problems`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ReloadResult {
    /// Why it was refused, one line each (nothing was changed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// Only a dry run: nothing was done.
    pub dry_run: bool,
    /// The Plan generation now.
    pub generation: u64,
    /// What changed.
    #[serde(default)]
    pub diff: crate::plan::diff::PlanDiff,
    /// Each service the reload stopped, restarted or started, as it settled.
    #[serde(default)]
    pub actions: Vec<ActionResult>,
    /// Warnings of the new Plan.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// The outcome of `start` / `stop` / `restart`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ActionResult {
    /// Service name.
    pub service: String,
    /// The state it settled in.
    pub state: StateKind,
    /// Its pid, when running.
    pub pid: Option<i32>,
    /// A sentence for the user.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_read_as_documented() {
        let r: Request = serde_json::from_str(r#"{"cmd":"status"}"#).unwrap();
        assert_eq!(r, Request::Status { watch: false });
        let r: Request =
            serde_json::from_str(r#"{"cmd":"logs","service":"api","lines":5}"#).unwrap();
        assert_eq!(
            r,
            Request::Logs {
                service: Some("api".into()),
                services: vec![],
                lines: 5,
                follow: false,
            }
        );
        let r: Request =
            serde_json::from_str(r#"{"cmd":"logs","services":["a","b"],"follow":true}"#).unwrap();
        assert!(r.streams());
        let r: Request = serde_json::from_str(r#"{"cmd":"events"}"#).unwrap();
        assert!(r.streams());
        assert!(
            serde_json::from_str::<Request>(r#"{"cmd":"status","watch":true}"#)
                .unwrap()
                .streams()
        );
        let r: Request = serde_json::from_str(r#"{"cmd":"restart","service":"db"}"#).unwrap();
        assert_eq!(
            r,
            Request::Restart {
                service: "db".into()
            }
        );
        assert!(serde_json::from_str::<Request>(r#"{"cmd":"env","service":"db"}"#).is_err());
        assert!(serde_json::from_str::<Request>(r#"{"cmd":"stop"}"#).is_err());
    }

    /// The JSON blocks of docs/control.md's "Protocol" section: requests,
    /// responses, streaming requests, streamed items.
    fn doc_examples() -> Vec<Vec<String>> {
        let doc = include_str!("../../docs/control.md");
        let section = doc.split("## Protocol").nth(1).unwrap();
        section
            .split("```json\n")
            .skip(1)
            .map(|b| {
                b.split("```")
                    .next()
                    .unwrap()
                    .lines()
                    .map(str::to_owned)
                    .collect()
            })
            .collect()
    }

    #[test]
    fn doc_examples_are_real() {
        let blocks = doc_examples();
        let (requests, responses) = (&blocks[0], &blocks[1]);
        assert_eq!(requests.len(), 5);
        for r in requests {
            serde_json::from_str::<Request>(r).unwrap_or_else(|e| panic!("{e}: {r}"));
        }
        assert_eq!(responses.len(), 4);
        for r in responses {
            let back: Response = serde_json::from_str(r).unwrap_or_else(|e| panic!("{e}: {r}"));
            assert_eq!(back.ok, back.error.is_none(), "{r}");
        }
        for r in &blocks[2] {
            let req: Request = serde_json::from_str(r).unwrap_or_else(|e| panic!("{e}: {r}"));
            assert!(req.streams(), "{r}");
        }
        assert_eq!(blocks[3].len(), 7);
        for r in &blocks[3] {
            serde_json::from_str::<Item>(r).unwrap_or_else(|e| panic!("{e}: {r}"));
        }
    }

    #[test]
    fn errors_carry_a_kind() {
        let s = serde_json::to_string(&Response::error(ErrorKind::UnknownService, "no")).unwrap();
        assert_eq!(s, r#"{"ok":false,"error":"no","kind":"unknown_service"}"#);
        let back: Response = serde_json::from_str(&s).unwrap();
        assert_eq!(back.kind, Some(ErrorKind::UnknownService));
    }
}
