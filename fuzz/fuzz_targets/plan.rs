//! The config → Plan builder from supervisor.toml text (`plan::load_text`),
//! with a fixed OS environment and a scratch directory holding `.env`,
//! `other.env` and certificate files. Properties: no panic; every problem
//! names a place and says something, within the message cap; and the canary
//! password, which lives only in the OS environment and `.env` (DATABASE_URL,
//! API_TOKEN), never shows in a problem or warning unless the text wrote it.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use uaol_fuzz::{assert_no_canary, scratch, CANARY};
use uaol_supervisor::plan;

fn os_env() -> BTreeMap<String, String> {
    [
        ("PATH", "/usr/bin:/bin"),
        ("HOME", "/nonexistent"),
        ("PGPASSWORD", "Zx7Qv-pg"),
        ("SECRET_KEY", "Zx7Qv-os"),
        ("PORT", "8080"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = scratch().join("supervisor.toml");
    let own_text = text.contains(CANARY) || text.contains("\\u") || text.contains("\\U");
    match plan::load_text(&path, text, &os_env()) {
        Ok(p) => {
            if !own_text {
                for w in &p.warnings {
                    assert_no_canary("a warning", &w.to_string());
                }
            }
        }
        Err(problems) => {
            assert!(!problems.is_empty());
            for p in &problems.0 {
                assert!(!p.location.is_empty(), "no place: {p:?}");
                assert!(!p.message.is_empty(), "no message: {p:?}");
                assert!(p.message.chars().count() <= 620);
                if !own_text {
                    assert_no_canary(&p.location, &p.message);
                }
            }
        }
    }
});
