//! libpq's reading of a URL (`db::libpq::read`) and the connect plan built
//! from it. Properties: no panic; a password is never `Some("")`; the plan
//! has at least one endpoint with a non-zero port; a read error never echoes
//! input text (checked with the canary, anywhere in the input).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use uaol_fuzz::{assert_no_canary, scratch, CANARY};
use uaol_supervisor::db::{libpq, view};

fuzz_target!(|data: &[u8]| {
    let raw = String::from_utf8_lossy(data);
    let Some(read) = libpq::read(&raw) else {
        assert!(libpq::scheme_of(&raw).is_none());
        return;
    };
    match read {
        Ok(ci) => {
            assert!(ci.password.as_ref().is_none_or(|p| !p.is_empty()));
            let plan = view::libpq_plan(&ci, scratch(), Some(Path::new("/nonexistent")));
            assert!(!plan.endpoints.is_empty());
            assert!(plan.endpoints.iter().all(|e| e.port != 0));
        }
        Err((kind, message)) => {
            assert!(!kind.as_str().is_empty() && !message.is_empty());
            if raw.contains(CANARY) {
                assert_no_canary("a libpq read error", &message);
            }
        }
    }
});
