//! The validated, immutable Plan: the only input to every executor (`up`, `run`,
//! `export`) and view (`check`, `env`). Built once by [`build`] from the raw
//! config and the resolved environments; never re-read from the OS afterwards.

mod types;

pub use types::*;
