//! node-postgres's reading of a URL (`db::nodepg::read`, pg-connection-string
//! on the WHATWG parser) and the connect plan built from it. Properties: no
//! panic; a password is never `Some("")`; the plan has an endpoint.
#![no_main]

use libfuzzer_sys::fuzz_target;
use uaol_fuzz::scratch;
use uaol_supervisor::db::{libpq::Conninfo, nodepg, view, Client};

fuzz_target!(|data: &[u8]| {
    let raw = String::from_utf8_lossy(data);
    if let Ok(n) = nodepg::read(&raw) {
        assert!(n.password.as_ref().is_none_or(|p| !p.is_empty()));
        let plan = view::plan_for(Client::NodePg, &Conninfo::default(), Some(&n), scratch());
        assert!(!plan.endpoints.is_empty());
    }
});
