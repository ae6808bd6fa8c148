//! The vocabulary every layer speaks, kept at the bottom of the crate so that
//! `config`, `env`, `db` and `plan` can all use it without importing each other
//! (before, `config` and `env` imported `plan` for its problem type, and `db`
//! imported the supervisor for its escaping). Nothing here knows about the
//! configuration's meaning.
//!
//! - [`Problem`]: one finding, fatal or not — where (`file:line:col`,
//!   `services.x.key`) and what; the plan collects the fatal ones into a
//!   report and keeps the others as warnings;
//! - [`Locator`]: byte offsets in a file's text as `file:line:col`;
//! - [`read`]: bounded reads of regular files (supervisor.toml, env files,
//!   certificates), with short reasons;
//! - [`named`]: closed sets with stable printed names (`named_enum!`);
//! - [`suggest`]: "did you mean …?" by edit distance;
//! - [`visible`] (+ `scan`): text made harmless for a terminal (service
//!   output, server messages, anything from outside shown to a person).

mod locator;
pub(crate) mod named;
mod problem;
pub(crate) mod read;
mod scan;
pub(crate) mod suggest;
pub(crate) mod visible;

pub(crate) use locator::Locator;
pub use problem::Problem;
