//! Splitting a dotenv file into logical lines exactly as dotenvy 0.15's
//! `QuotedLines` does (a quoted value may span physical lines), remembering
//! the 1-based line each logical line starts on.
//!
//! One deliberate difference: dotenvy rejects a last line that ends in
//! whitespace without a final newline (its state machine is left in
//! "whitespace"); we accept it, as dotenvy does when the newline is there.

/// A logical line, the physical line it starts on, and whether an inline
/// ` #` comment was cut off its end.
pub(super) type Logical = (usize, String, bool);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Complete,
    Escape,
    StrongOpen,
    StrongOpenEscape,
    WeakOpen,
    WeakOpenEscape,
    Comment,
    WhiteSpace,
}

fn end_state(prev: State, chunk: &str) -> (usize, State) {
    let mut state = prev;
    for (pos, c) in chunk.char_indices() {
        state = match state {
            State::WhiteSpace => match c {
                '#' => return (pos, State::Comment),
                '\\' => State::Escape,
                '"' => State::WeakOpen,
                '\'' => State::StrongOpen,
                _ => State::Complete,
            },
            State::Escape => State::Complete,
            State::Complete => match c {
                c if c.is_whitespace() && c != '\n' && c != '\r' => State::WhiteSpace,
                '\\' => State::Escape,
                '"' => State::WeakOpen,
                '\'' => State::StrongOpen,
                _ => State::Complete,
            },
            State::WeakOpen => match c {
                '\\' => State::WeakOpenEscape,
                '"' => State::Complete,
                _ => State::WeakOpen,
            },
            State::WeakOpenEscape => State::WeakOpen,
            State::StrongOpen => match c {
                '\\' => State::StrongOpenEscape,
                '\'' => State::Complete,
                _ => State::StrongOpen,
            },
            State::StrongOpenEscape => State::StrongOpen,
            State::Comment => return (pos, State::Comment),
        };
    }
    (chunk.len(), state)
}

/// Split `text` (BOM allowed) into logical lines. `Err(line)` names the line
/// an unterminated quoted value (or trailing escape) starts on.
pub(super) fn logical_lines(text: &str) -> Result<Vec<Logical>, usize> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    let mut buf = String::new();
    let mut start = 0;
    let mut state = State::Complete;
    for (i, phys) in text.split_inclusive('\n').enumerate() {
        if buf.is_empty() {
            start = i + 1;
            state = State::Complete;
        }
        let buf_pos = buf.len();
        buf.push_str(phys);
        if buf.trim_start().starts_with('#') {
            out.push((start, String::new(), false));
            buf.clear();
            continue;
        }
        let (pos, next) = end_state(state, &buf[buf_pos..]);
        state = next;
        match state {
            State::Complete => {
                strip_newline(&mut buf);
                out.push((start, std::mem::take(&mut buf), false));
            }
            State::Comment => {
                buf.truncate(buf_pos + pos);
                out.push((start, std::mem::take(&mut buf), true));
            }
            _ => {}
        }
    }
    match state {
        _ if buf.is_empty() => Ok(out),
        State::WhiteSpace => {
            out.push((start, buf, false));
            Ok(out)
        }
        _ => Err(start),
    }
}

fn strip_newline(buf: &mut String) {
    if buf.ends_with('\n') {
        buf.pop();
        if buf.ends_with('\r') {
            buf.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logical_lines_with_start_numbers() {
        type Want = Result<Vec<(usize, &'static str, bool)>, usize>;
        let cases: &[(&str, Want)] = &[
            ("A=1\nB=2\n", Ok(vec![(1, "A=1", false), (2, "B=2", false)])),
            ("A=1\r\nB=2", Ok(vec![(1, "A=1", false), (2, "B=2", false)])),
            (
                "# c\nA=1 # c\n",
                Ok(vec![(1, "", false), (2, "A=1 ", true)]),
            ),
            (
                "A=\"x\ny\"\nB=1\n",
                Ok(vec![(1, "A=\"x\ny\"", false), (3, "B=1", false)]),
            ),
            ("A='x\n\ny'\n", Ok(vec![(1, "A='x\n\ny'", false)])),
            ("\u{feff}A=1", Ok(vec![(1, "A=1", false)])),
            ("A=1 ", Ok(vec![(1, "A=1 ", false)])),
            ("A=1\nB=\"open\n", Err(2)),
            ("A='open", Err(1)),
        ];
        for (text, want) in cases {
            let got = logical_lines(text);
            let want = want.clone().map(|v| {
                v.into_iter()
                    .map(|(l, s, c)| (l, s.to_string(), c))
                    .collect::<Vec<_>>()
            });
            assert_eq!(got, want, "{text:?}");
        }
    }
}
