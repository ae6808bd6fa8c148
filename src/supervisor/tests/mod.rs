//! Engine tests with real processes, through the library API (ServicePlans built
//! directly). Each test is bounded by a hard timeout (see `testkit::run`) and
//! stops everything it started; children die with the test thread
//! (PR_SET_PDEATHSIG) even when an assertion fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod logs;
mod order;
mod restart;
mod spawn;
mod stop;

use std::path::Path;
use std::time::Duration;

/// Lines of a file written by services (empty when missing).
pub(super) fn lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A generous bound for one test (the machine is small and shared).
pub(super) const LIMIT: Duration = Duration::from_secs(30);

/// Run `services` until one has failed; the run and a snapshot taken then.
pub(super) fn run_until_failed(
    services: Vec<crate::plan::ServicePlan>,
) -> (
    crate::supervisor::testkit::Run,
    crate::supervisor::commands::Snapshot,
) {
    use crate::supervisor::testkit::{run, shutdown, status};
    run(
        services,
        crate::plan::LogFormat::Pretty,
        LIMIT,
        |h| async move {
            let mut hr = h.health.clone();
            let _ = hr.wait_for(|x| x.failed.is_some()).await;
            let s = status(&h).await;
            shutdown(&h).await;
            s
        },
    )
}
