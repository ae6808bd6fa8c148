//! Shared pieces of the fuzz targets: the settings a byte selects, a scratch
//! directory with fixed files, and the "no secret leaks" check.
//!
//! The secret check needs a password that cannot occur in any message template
//! by chance (a fuzzed password such as `port` would). So the property is
//! stated for the canary [`CANARY`]: when it occurs exactly once in the input
//! (after percent-decoding) and a reader puts it inside the password, then no
//! output — raw or percent-decoded — may contain it. The seeds carry the
//! canary; the dictionary lets libFuzzer move it around.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use uaol_supervisor::db::{Client, DbSettings, Expect};

/// The canary password (alphanumeric, so its encoded forms equal it).
pub const CANARY: &str = "Zx7Qv";

/// `[database]` settings chosen by one byte: every client/expect/flag mix.
pub fn settings(b: u8) -> DbSettings {
    DbSettings {
        client: if b & 1 == 0 {
            Client::Libpq
        } else {
            Client::NodePg
        },
        expect: match (b >> 1) & 3 {
            0 => Expect::Any,
            1 => Expect::Postgres,
            _ => Expect::Cockroachdb,
        },
        allow_localhost: b & 8 == 0,
        require_tls: b & 16 != 0,
        probe: false,
        base_dir: scratch().to_path_buf(),
        ..DbSettings::default()
    }
}

/// A directory with `.env`, `not-pem.crt` and `empty.crt`, made once per process.
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("uaol-fuzz-{}", std::process::id()));
        let files: [(&str, &str); 4] = [
            (".env", "API_TOKEN=Zx7Qv-token\nDATABASE_URL=postgres://app:Zx7Qv@db.example.com/app\nNAME=app\n"),
            ("other.env", "export LEVEL=debug\nQUOTED=\"a b\"\n"),
            ("not-pem.crt", "this is not a certificate\n"),
            ("empty.crt", ""),
        ];
        std::fs::create_dir_all(&dir).expect("scratch dir: the fuzzer needs a writable temp dir");
        for (name, text) in files {
            std::fs::write(dir.join(name), text).expect("scratch file");
        }
        dir
    })
}

/// `%XX` decoded where well-formed, everything else kept (lossy UTF-8).
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |j: usize| b.get(j).and_then(|c| (*c as char).to_digit(16));
        match (b[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether the canary may be checked for `raw`: it occurs exactly once in
/// the decoded input and at most once literally (so no other component can
/// legitimately carry it into a message).
pub fn canary_once(raw: &str) -> bool {
    percent_decode(raw).matches(CANARY).count() == 1 && raw.matches(CANARY).count() <= 1
}

/// Panic (a finding) when `text` shows the canary, plainly or encoded.
pub fn assert_no_canary(what: &str, text: &str) {
    assert!(
        !text.contains(CANARY) && !percent_decode(text).contains(CANARY),
        "the password leaked into {what}: {text:?}"
    );
}
