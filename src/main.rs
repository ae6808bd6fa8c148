//! Thin entry point: everything lives in the library so tests can call `run`.
fn main() -> std::process::ExitCode {
    uaol_supervisor::run(std::env::args_os())
}
