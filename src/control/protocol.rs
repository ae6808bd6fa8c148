//! The wire protocol: JSON lines over the Unix socket. The client sends ONE
//! request line, the server answers ONE response line and closes. Times are
//! sent both as Unix seconds and as ages measured on the server, so the
//! client never compares clocks. No environment value is ever part of it.

use serde::{Deserialize, Serialize};

/// Largest request line the server reads (bytes).
pub const MAX_REQUEST: u64 = 64 * 1024;

/// A request line: `{"cmd":"status"}`, `{"cmd":"logs","service":"api","lines":50}`,
/// `{"cmd":"restart","service":"api"}` (also `stop`, `start`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "lowercase", deny_unknown_fields)]
pub enum Request {
    /// Every service's status, with process-group RSS and CPU%.
    Status,
    /// The last `lines` output lines of a service.
    Logs {
        /// Service name.
        service: String,
        /// How many lines.
        lines: usize,
    },
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
}

/// Why a request failed, for the client's exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
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
}

/// A response line: `ok` plus exactly one payload, or `error` and `kind`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Response {
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
    /// `start` / `stop` / `restart`: where the service ended up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Box<ActionResult>>,
}

impl Response {
    /// A failure.
    pub fn error(kind: ErrorKind, message: impl Into<String>) -> Response {
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
pub struct ServiceView {
    /// Name.
    pub name: String,
    /// `pending`, `starting`, `running`, `ready`, `stopping`, `backoff`,
    /// `exited`, `completed`, `failed`, `stopped`.
    pub state: String,
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
    /// Why it failed.
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
pub struct LastExit {
    /// `exit code 1`, `killed by SIGKILL`.
    pub reason: String,
    /// When (Unix seconds).
    pub at: u64,
    /// Seconds ago.
    pub ago_secs: u64,
}

/// One output line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// `stdout` or `stderr`.
    pub stream: String,
    /// The line, secrets masked.
    pub line: String,
}

/// The outcome of `start` / `stop` / `restart`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionResult {
    /// Service name.
    pub service: String,
    /// The state it settled in (or had when the wait ran out).
    pub state: String,
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
        assert_eq!(r, Request::Status);
        let r: Request =
            serde_json::from_str(r#"{"cmd":"logs","service":"api","lines":5}"#).unwrap();
        assert_eq!(
            r,
            Request::Logs {
                service: "api".into(),
                lines: 5
            }
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

    /// The JSON blocks of README's "Protocol" section: requests, then responses.
    fn readme_examples() -> (Vec<String>, Vec<String>) {
        let readme = include_str!("../../README.md");
        let section = readme.split("### Protocol").nth(1).unwrap();
        let mut blocks = section.split("```json\n").skip(1).map(|b| {
            b.split("```")
                .next()
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect()
        });
        (blocks.next().unwrap(), blocks.next().unwrap())
    }

    #[test]
    fn readme_examples_are_real() {
        let (requests, responses) = readme_examples();
        assert_eq!(requests.len(), 5);
        for r in &requests {
            serde_json::from_str::<Request>(r).unwrap_or_else(|e| panic!("{e}: {r}"));
        }
        assert_eq!(responses.len(), 4);
        for r in &responses {
            let back: Response = serde_json::from_str(r).unwrap_or_else(|e| panic!("{e}: {r}"));
            assert_eq!(back.ok, back.error.is_none(), "{r}");
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
