//! `status --watch`: the status table again on every change, pushed by `up`
//! (one subscription; no polling, no timer). On a terminal the table is
//! redrawn in place and `q` or Ctrl-C ends it (the terminal is put in
//! non-canonical mode without echo, and restored); otherwise each change
//! prints a new table after a blank line (`--json`: one JSON array per line).

use std::io::{IsTerminal, Write};

use nix::sys::termios::{self, LocalFlags, SetArg, Termios};

use super::Outcome;
use crate::cli::{Cli, StatusArgs};
use crate::cmd::remote::stream;
use crate::cmd::status::render;
use crate::control::protocol::{Item, Request};

/// Clear the screen and go home.
const CLEAR: &str = "\x1b[H\x1b[2J";

/// Run `status --watch`.
pub(crate) fn run(cli: &Cli, args: &StatusArgs) -> Outcome {
    let tty = std::io::stdout().is_terminal();
    let _keys = if tty && std::io::stdin().is_terminal() {
        Keys::start()
    } else {
        None
    };
    let mut out = std::io::stdout().lock();
    let mut first = true;
    let req = Request::Status { watch: true };
    stream(cli, args.socket.as_deref(), &req, |item| {
        let Item::Status { services } = item else {
            return true;
        };
        let text = if args.json {
            serde_json::to_string(&services).unwrap_or_default() + "\n"
        } else if tty {
            format!("{CLEAR}{}", render(&services))
        } else if first {
            render(&services)
        } else {
            format!("\n{}", render(&services))
        };
        first = false;
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .is_ok()
    })
}

/// The terminal in non-canonical, no-echo, no-signal mode, and a thread that
/// ends the process on `q`, Ctrl-C or Ctrl-D; restored when dropped or quit.
struct Keys {
    saved: Termios,
}

impl Keys {
    fn start() -> Option<Keys> {
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(&stdin).ok()?;
        let mut raw = saved.clone();
        raw.local_flags
            .remove(LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG);
        termios::tcsetattr(&stdin, SetArg::TCSANOW, &raw).ok()?;
        let restore = saved.clone();
        std::thread::spawn(move || {
            use std::io::Read;
            let mut b = [0u8; 1];
            let mut input = std::io::stdin();
            while let Ok(1) = input.read(&mut b) {
                if matches!(b[0], b'q' | b'Q' | 3 | 4) {
                    break;
                }
            }
            let _ = termios::tcsetattr(std::io::stdin(), SetArg::TCSANOW, &restore);
            std::process::exit(0);
        });
        Some(Keys { saved })
    }
}

impl Drop for Keys {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(std::io::stdin(), SetArg::TCSANOW, &self.saved);
    }
}
