//! Table tests for the pure transition function: each row is
//! (policy tweak, starting state, event) → (expected state, expected actions).

use super::*;

const PID: i32 = 100;

/// (name, policy, from, event, expected state, expected actions)
type Row<'a> = (&'static str, &'a Policy, State, Event, State, Vec<Action>);
/// (name, from, event, at ms, expected state, expected actions)
type StopRow = (&'static str, State, Event, u64, State, Vec<Action>);

fn policy() -> Policy {
    Policy {
        restart: RestartPolicy::OnFailure,
        backoff: Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
            factor: 2.0,
            reset_after: Duration::from_secs(10),
        },
        max_restarts: 3,
        restart_window: Duration::from_secs(60),
        oneshot: false,
        has_ready: false,
        stop_signal: Signal::SIGTERM,
        stop_timeout: Duration::from_secs(5),
    }
}

fn at(t0: Instant, ms: u64) -> Facts {
    Facts {
        now: t0 + Duration::from_millis(ms),
        jitter: 0.5,
    }
}

fn svc(state: State) -> Svc {
    Svc {
        state,
        ..Svc::default()
    }
}

fn run(p: &Policy, state: State, e: Event, cx: Facts) -> (State, Vec<Action>) {
    let (s, a) = step(p, svc(state), e, cx);
    (s.state, a)
}

#[test]
fn lifecycle_table() {
    let t0 = Instant::now();
    let cx = at(t0, 0);
    let p = policy();
    let ready_p = Policy {
        has_ready: true,
        ..policy()
    };
    let oneshot = Policy {
        oneshot: true,
        ..policy()
    };
    let never = Policy {
        restart: RestartPolicy::Never,
        ..policy()
    };
    let always = Policy {
        restart: RestartPolicy::Always,
        ..policy()
    };
    let oneshot_never = Policy {
        oneshot: true,
        ..never.clone()
    };
    let running = State::Running {
        pid: PID,
        since: t0,
    };
    let ready = State::Ready {
        pid: PID,
        since: t0,
        ready_at: t0,
    };
    let ok = Event::Exited {
        pid: PID,
        status: Exit::Code(0),
    };
    let bad = Event::Exited {
        pid: PID,
        status: Exit::Code(1),
    };
    let sigkill = Action::Signal {
        pgid: PID,
        signal: Signal::SIGKILL,
    };
    let backoff_100 = State::Backoff {
        until: t0 + Duration::from_millis(100),
        last: Outcome::Exit(Exit::Code(1)),
        attempt: 1,
    };
    let stop_at = t0 + Duration::from_secs(5);
    let stopping = |then| State::Stopping {
        pid: PID,
        deadline: stop_at,
        leader_gone: false,
        killed: false,
        then,
    };
    let term = vec![
        Action::CancelReady,
        Action::Signal {
            pgid: PID,
            signal: Signal::SIGTERM,
        },
        Action::StopTimer {
            at: stop_at,
            pid: PID,
        },
    ];
    #[rustfmt::skip]
    let table: Vec<Row<'_>> = vec![
        ("start", &p, State::Pending, Event::Start, State::Starting, vec![Action::Spawn]),
        ("spawned, no check → running until the exec succeeded", &p, State::Starting,
            Event::Spawned { pid: PID }, running.clone(), vec![]),
        ("no check: exec succeeded → ready", &p, running.clone(), Event::ReadyOk { pid: PID },
            ready.clone(), vec![]),
        ("spawned, check → running", &ready_p, State::Starting, Event::Spawned { pid: PID },
            running.clone(), vec![Action::CheckReady { pid: PID }]),
        ("spawn error → failed", &p, State::Starting, Event::SpawnFailed("ENOENT".into()),
            State::Failed { reason: FailReason::Spawn("ENOENT".into()) }, vec![]),
        ("ready ok", &ready_p, running.clone(), Event::ReadyOk { pid: PID }, ready.clone(), vec![]),
        ("stale ready ignored", &ready_p, running.clone(), Event::ReadyOk { pid: 7 },
            running.clone(), vec![]),
        ("ready timeout → stopping(retry)", &ready_p, running.clone(),
            Event::ReadyTimedOut { pid: PID }, stopping(After::Retry(Outcome::ReadyTimeout)),
            term.clone()),
        ("oneshot exit 0 → completed", &oneshot, ready.clone(), ok.clone(), State::Completed,
            vec![sigkill.clone()]),
        ("exit 0 on-failure → exited", &p, ready.clone(), ok.clone(),
            State::Exited { status: Exit::Code(0) }, vec![sigkill.clone()]),
        ("exit 1 on-failure → backoff", &p, ready.clone(), bad.clone(), backoff_100.clone(),
            vec![Action::BackoffTimer { at: t0 + Duration::from_millis(100) }, sigkill.clone()]),
        ("exit 0 always → backoff", &always, ready.clone(), ok.clone(),
            State::Backoff { until: t0 + Duration::from_millis(100),
                last: Outcome::Exit(Exit::Code(0)), attempt: 1 },
            vec![Action::BackoffTimer { at: t0 + Duration::from_millis(100) }, sigkill.clone()]),
        ("exit 1 never → failed", &never, ready.clone(), bad.clone(),
            State::Failed { reason: FailReason::Crashed(Outcome::Exit(Exit::Code(1))) },
            vec![sigkill.clone()]),
        ("oneshot exit 1 never → failed", &oneshot_never,
            ready.clone(), bad.clone(),
            State::Failed { reason: FailReason::Crashed(Outcome::Exit(Exit::Code(1))) },
            vec![sigkill.clone()]),
        ("exit while checking cancels check", &ready_p, running.clone(), bad.clone(),
            backoff_100.clone(), vec![Action::CancelReady,
            Action::BackoffTimer { at: t0 + Duration::from_millis(100) }, sigkill.clone()]),
        ("stale exit ignored", &p, ready.clone(), Event::Exited { pid: 7, status: Exit::Code(1) },
            ready.clone(), vec![]),
        ("backoff elapsed → starting", &p, backoff_100.clone(), Event::BackoffElapsed,
            backoff_100.clone(), vec![]),
        ("stop → stopping", &p, ready.clone(), Event::Stop, stopping(After::Stop), term.clone()),
        ("restart → stopping(respawn)", &p, ready.clone(), Event::Restart,
            stopping(After::Respawn), term.clone()),
        ("stop while pending", &p, State::Pending, Event::Stop, State::Stopped, vec![]),
        ("stop while backoff", &p, backoff_100.clone(), Event::Stop, State::Stopped, vec![]),
        ("stop when completed: no-op", &p, State::Completed, Event::Stop, State::Completed, vec![]),
        ("kill → SIGKILL at once", &p, ready.clone(), Event::Kill,
            State::Stopping { pid: PID, deadline: t0, leader_gone: false, killed: true,
                then: After::Stop }, vec![Action::CancelReady, sigkill.clone()]),
        ("dependency failed", &p, State::Pending, Event::DependencyFailed("db failed".into()),
            State::Failed { reason: FailReason::Dependency("db failed".into()) }, vec![]),
        ("dependency failed during backoff", &p, backoff_100.clone(),
            Event::DependencyFailed("db failed".into()),
            State::Failed { reason: FailReason::Dependency("db failed".into()) }, vec![]),
        ("stop when failed by a dependency", &p,
            State::Failed { reason: FailReason::Dependency("db failed".into()) },
            Event::Stop, State::Stopped, vec![]),
        ("stop when failed otherwise: no-op", &p,
            State::Failed { reason: FailReason::Spawn("x".into()) },
            Event::Stop, State::Failed { reason: FailReason::Spawn("x".into()) }, vec![]),
        ("start from failed", &p, State::Failed { reason: FailReason::Spawn("x".into()) },
            Event::Start, State::Starting, vec![Action::Spawn]),
    ];
    for (name, pol, from, ev, want_state, want_actions) in table {
        let (got_state, got_actions) = run(pol, from, ev, cx);
        assert_eq!(got_state, want_state, "row `{name}`: state");
        assert_eq!(got_actions, want_actions, "row `{name}`: actions");
    }
}

#[test]
fn backoff_elapsed_only_when_due() {
    let t0 = Instant::now();
    let p = policy();
    let b = State::Backoff {
        until: t0 + Duration::from_millis(100),
        last: Outcome::ReadyTimeout,
        attempt: 1,
    };
    let (s, a) = run(&p, b, Event::BackoffElapsed, at(t0, 100));
    assert_eq!((s, a), (State::Starting, vec![Action::Spawn]));
}

#[test]
fn stopping_table() {
    let t0 = Instant::now();
    let p = policy();
    let st = |leader_gone, killed, then| State::Stopping {
        pid: PID,
        deadline: t0 + Duration::from_secs(5),
        leader_gone,
        killed,
        then,
    };
    let sigkill = Action::Signal {
        pgid: PID,
        signal: Signal::SIGKILL,
    };
    let exited = Event::Exited {
        pid: PID,
        status: Exit::Signal(15),
    };
    let gone = Event::GroupGone { pid: PID };
    #[rustfmt::skip]
    let table: Vec<StopRow> = vec![
        ("leader exit → await group", st(false, false, After::Stop), exited.clone(), 10,
            st(true, false, After::Stop), vec![Action::AwaitGroup { pgid: PID }]),
        ("deadline early ignored", st(false, false, After::Stop),
            Event::StopDeadline { pid: PID }, 10, st(false, false, After::Stop), vec![]),
        ("deadline → SIGKILL group", st(false, false, After::Stop),
            Event::StopDeadline { pid: PID }, 5000, st(false, true, After::Stop),
            vec![sigkill.clone()]),
        ("deadline after leader gone still kills group", st(true, false, After::Stop),
            Event::StopDeadline { pid: PID }, 5000, st(true, true, After::Stop),
            vec![sigkill.clone()]),
        ("second signal kills at once", st(false, false, After::Respawn), Event::Kill, 10,
            st(false, true, After::Stop), vec![sigkill.clone()]),
        ("group gone before leader: ignored", st(false, false, After::Stop), gone.clone(), 10,
            st(false, false, After::Stop), vec![]),
        ("group gone → stopped", st(true, false, After::Stop), gone.clone(), 10,
            State::Stopped, vec![]),
        ("group gone → respawn: pending, gated again", st(true, false, After::Respawn),
            gone.clone(), 10, State::Pending, vec![]),
        ("group gone → retry (backoff)", st(true, false, After::Retry(Outcome::ReadyTimeout)),
            gone.clone(), 10,
            State::Backoff { until: t0 + Duration::from_millis(110),
                last: Outcome::ReadyTimeout, attempt: 1 },
            vec![Action::BackoffTimer { at: t0 + Duration::from_millis(110) }]),
        ("stop overrides restart", st(false, false, After::Respawn), Event::Stop, 10,
            st(false, false, After::Stop), vec![]),
    ];
    for (name, from, ev, ms, want_state, want_actions) in table {
        let (got_state, got_actions) = run(&p, from, ev, at(t0, ms));
        assert_eq!(got_state, want_state, "row `{name}`: state");
        assert_eq!(got_actions, want_actions, "row `{name}`: actions");
    }
}

#[test]
fn crash_loop_hits_start_limit_and_backoff_grows() {
    let t0 = Instant::now();
    let p = policy();
    let mut s = svc(State::Ready {
        pid: PID,
        since: t0,
        ready_at: t0,
    });
    let mut delays = vec![];
    for i in 0..3u64 {
        let cx = at(t0, i * 1000);
        let (n, _) = step(
            &p,
            s,
            Event::Exited {
                pid: PID,
                status: Exit::Code(1),
            },
            cx,
        );
        let State::Backoff { until, .. } = n.state else {
            panic!("{:?}", n.state)
        };
        delays.push((until - cx.now).as_millis());
        s = Svc {
            state: State::Ready {
                pid: PID,
                since: cx.now,
                ready_at: cx.now,
            },
            ..n
        };
    }
    assert_eq!(delays, vec![100, 200, 400]);
    let (n, _) = step(
        &p,
        s,
        Event::Exited {
            pid: PID,
            status: Exit::Code(1),
        },
        at(t0, 3000),
    );
    assert!(
        matches!(
            n.state,
            State::Failed {
                reason: FailReason::StartLimit { restarts: 3, .. }
            }
        ),
        "{:?}",
        n.state
    );
    assert_eq!(n.restarts, 3);
}

#[test]
fn healthy_run_resets_attempts() {
    let t0 = Instant::now();
    let p = policy();
    let s = Svc {
        state: State::Ready {
            pid: PID,
            since: t0,
            ready_at: t0,
        },
        attempt: 5,
        ..Svc::default()
    };
    let (n, _) = step(
        &p,
        s,
        Event::Exited {
            pid: PID,
            status: Exit::Code(1),
        },
        at(t0, 10_000),
    );
    assert_eq!(n.attempt, 1);
    assert!(matches!(n.state, State::Backoff { attempt: 1, .. }));
}

#[test]
fn display_of_reasons() {
    assert_eq!(Exit::Signal(9).to_string(), "killed by SIGKILL");
    assert_eq!(Exit::Code(3).to_string(), "exit code 3");
    let r = FailReason::StartLimit {
        restarts: 3,
        window: Duration::from_secs(60),
        last: Outcome::Exit(Exit::Code(1)),
    };
    assert!(r.to_string().contains("crash loop: 3 restarts"), "{r}");
}

#[test]
fn memory_limit_stops_then_counts_as_a_failure() {
    let t0 = Instant::now();
    let p = policy();
    let ready = State::Ready {
        pid: PID,
        since: t0,
        ready_at: t0,
    };
    let over = |pid| Event::MemoryExceeded {
        pid,
        rss: 612 << 20,
        limit: 512 << 20,
    };
    let outcome = Outcome::MemoryLimit {
        rss: 612 << 20,
        limit: 512 << 20,
    };
    let (st, a) = run(&p, ready.clone(), over(PID), at(t0, 0));
    let deadline = t0 + Duration::from_secs(5);
    assert_eq!(
        st,
        State::Stopping {
            pid: PID,
            deadline,
            leader_gone: false,
            killed: false,
            then: After::Retry(outcome.clone()),
        }
    );
    assert_eq!(a.len(), 3, "{a:?}");
    assert_eq!(
        a[1],
        Action::Signal {
            pgid: PID,
            signal: Signal::SIGTERM
        }
    );
    // A sample for an older run, or while already stopping: ignored.
    assert_eq!(
        run(&p, ready, over(7), at(t0, 0)),
        (ready_state(t0), vec![])
    );
    let (again, a) = run(&p, st.clone(), over(PID), at(t0, 10));
    assert_eq!((again, a), (st, vec![]));
    // Once the group is gone: restart per policy, or fail under `never`.
    let gone_leader = State::Stopping {
        pid: PID,
        deadline,
        leader_gone: true,
        killed: false,
        then: After::Retry(outcome.clone()),
    };
    let never = Policy {
        restart: RestartPolicy::Never,
        ..policy()
    };
    let (st, _) = run(
        &never,
        gone_leader.clone(),
        Event::GroupGone { pid: PID },
        at(t0, 20),
    );
    assert_eq!(
        st,
        State::Failed {
            reason: FailReason::Crashed(outcome.clone())
        }
    );
    let (st, _) = run(&p, gone_leader, Event::GroupGone { pid: PID }, at(t0, 20));
    assert!(
        matches!(&st, State::Backoff { last, attempt: 1, .. } if *last == outcome),
        "{st:?}"
    );
    assert_eq!(
        outcome.to_string(),
        "RSS 612 MiB exceeds max_memory 512 MiB"
    );
    assert_eq!(mib(3 << 19), "1.5 MiB");
    assert_eq!(mib(300 << 10), "300 KiB");
}

fn ready_state(t0: Instant) -> State {
    State::Ready {
        pid: PID,
        since: t0,
        ready_at: t0,
    }
}

/// `run -- true` shuts down while a `restart = "never"` service is exiting 1:
/// the exit arrives in `Stopping` and must still end in `Failed` (issue 12.12).
#[test]
fn exit_racing_a_stop_is_judged_by_its_status() {
    let t0 = Instant::now();
    let never = Policy {
        restart: RestartPolicy::Never,
        ..policy()
    };
    let on_failure = policy();
    let st = |leader_gone, killed, then| State::Stopping {
        pid: PID,
        deadline: t0 + Duration::from_secs(5),
        leader_gone,
        killed,
        then,
    };
    let exit = |status| Event::Exited { pid: PID, status };
    let gone = Event::GroupGone { pid: PID };
    let failed = After::Fail(Outcome::Exit(Exit::Code(1)));
    let await_group = vec![Action::AwaitGroup { pgid: PID }];
    #[rustfmt::skip]
    let table: Vec<Row> = vec![
        ("never: exit 1 while stopping → fail", &never, st(false, false, After::Stop),
            exit(Exit::Code(1)), st(true, false, failed.clone()), await_group.clone()),
        ("never: fail once the group is gone", &never, st(true, false, failed.clone()),
            gone.clone(), State::Failed { reason: FailReason::Crashed(Outcome::Exit(Exit::Code(1))) },
            vec![]),
        ("never: a later stop keeps the failure", &never, st(true, false, failed.clone()),
            Event::Stop, st(true, false, failed.clone()), vec![]),
        ("never: a kill keeps the failure", &never, st(true, false, failed.clone()),
            Event::Kill, st(true, true, failed.clone()),
            vec![Action::Signal { pgid: PID, signal: Signal::SIGKILL }]),
        ("never: killed by the stop signal is a stop", &never, st(false, false, After::Stop),
            exit(Exit::Signal(15)), st(true, false, After::Stop), await_group.clone()),
        ("never: 128+SIGTERM is a stop", &never, st(false, false, After::Stop),
            exit(Exit::Code(143)), st(true, false, After::Stop), await_group.clone()),
        ("never: exit 0 is a stop", &never, st(false, false, After::Stop),
            exit(Exit::Code(0)), st(true, false, After::Stop), await_group.clone()),
        ("never: SIGKILL after our kill is a stop", &never, st(false, true, After::Stop),
            exit(Exit::Signal(9)), st(true, true, After::Stop), await_group.clone()),
        ("never: SIGKILL we did not send is a failure", &never, st(false, false, After::Stop),
            exit(Exit::Signal(9)), st(true, false, After::Fail(Outcome::Exit(Exit::Signal(9)))),
            await_group.clone()),
        ("never: exit 1 during a requested restart restarts", &never,
            st(false, false, After::Respawn), exit(Exit::Code(1)),
            st(true, false, After::Respawn), await_group.clone()),
        ("on-failure: exit 1 while stopping is a stop", &on_failure,
            st(false, false, After::Stop), exit(Exit::Code(1)),
            st(true, false, After::Stop), await_group.clone()),
    ];
    for (name, p, from, ev, want_state, want_actions) in table {
        let (got_state, got_actions) = run(p, from, ev, at(t0, 10));
        assert_eq!(got_state, want_state, "row `{name}`: state");
        assert_eq!(got_actions, want_actions, "row `{name}`: actions");
    }
}

/// `start` of an ended service goes back to `pending`: the scheduler starts
/// it once its dependencies hold (issue 13); a live one ignores it.
#[test]
fn requeue_returns_an_ended_service_to_pending() {
    let t0 = Instant::now();
    let p = policy();
    let failed = State::Failed {
        reason: FailReason::Spawn("x".into()),
    };
    let exited = State::Exited {
        status: Exit::Code(0),
    };
    for from in [State::Stopped, exited, State::Completed, failed] {
        let (got, actions) = run(&p, from.clone(), Event::Requeue, at(t0, 0));
        assert_eq!((got, actions), (State::Pending, vec![]), "from {from:?}");
    }
    let ready = ready_state(t0);
    let (got, actions) = run(&p, ready.clone(), Event::Requeue, at(t0, 0));
    assert_eq!((got, actions), (ready, vec![]));
    // A restart requested during backoff is gated like any start.
    let backoff = State::Backoff {
        until: t0,
        last: Outcome::ReadyTimeout,
        attempt: 1,
    };
    let (got, actions) = run(&p, backoff, Event::Restart, at(t0, 0));
    assert_eq!((got, actions), (State::Pending, vec![]));
    let mut s = svc(State::Failed {
        reason: FailReason::Spawn("x".into()),
    });
    s.attempt = 3;
    s.history.push_back(t0);
    let (s, _) = step(&p, s, Event::Requeue, at(t0, 0));
    assert_eq!((s.attempt, s.history.len()), (0, 0));
}
