//! The .env reader (`env::dotenv::parse`) against dotenvy 0.15, whose syntax
//! it implements. Properties: no panic; line numbers lie within the file; an
//! error message never echoes a value (canary); and where dotenvy accepts the
//! file, we read the same keys and values (both look names up in the process
//! environment first). Inputs on which the two deliberately differ are skipped
//! (see `deliberate`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use uaol_fuzz::{assert_no_canary, CANARY};
use uaol_supervisor::env::dotenv;

fn os(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Differences documented in `env/lines.rs`/`env/dotenv.rs`: we accept a last
/// line ending in whitespace without a newline, and reject NUL bytes.
fn deliberate(text: &str) -> bool {
    text.contains('\0') || !text.ends_with('\n')
}

/// The canary occurs, and only after an `=` on its line (a value, not a name).
fn only_in_values(text: &str) -> bool {
    text.contains(CANARY)
        && text.lines().filter(|l| l.contains(CANARY)).all(|l| {
            l.find('=')
                .is_some_and(|eq| l.find(CANARY).is_some_and(|c| c > eq))
        })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines = text.split('\n').count();
    let ours = dotenv::parse(text, &os);
    match &ours {
        Ok(entries) => {
            assert!(entries.iter().all(|e| e.line >= 1 && e.line <= lines));
        }
        Err(e) => {
            assert!(e.line >= 1 && e.line <= lines, "line {} of {lines}", e.line);
            if only_in_values(text) {
                assert_no_canary("a .env syntax error", &e.why.to_string());
            }
        }
    }
    if deliberate(text) {
        return;
    }
    let oracle: Result<Vec<(String, String)>, _> =
        dotenvy::from_read_iter(text.as_bytes()).collect();
    if let (Ok(want), Ok(got)) = (&oracle, &ours) {
        let got: Vec<(String, String)> = got
            .iter()
            .map(|e| (e.key.clone(), e.value.clone()))
            .collect();
        assert_eq!(&got, want, "dotenvy reads {text:?} differently");
    }
    if oracle.is_ok() {
        assert!(
            ours.is_ok(),
            "dotenvy accepts {text:?}, we reject it: {ours:?}"
        );
    }
});
