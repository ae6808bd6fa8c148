//! Raw configuration: `supervisor.toml` parsed close to the file (serde, strict,
//! every error with file:line:col). No system access beyond reading the file.
