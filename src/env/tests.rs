//! Table tests for the dotenv reader against dotenvy itself (the oracle), and
//! for the reader's line numbers and lint facts.

use super::dotenv::{parse, Entry};

fn none(_: &str) -> Option<String> {
    None
}

fn ours(text: &str) -> Result<Vec<(String, String)>, usize> {
    parse(text, &none)
        .map(|v| v.into_iter().map(|e| (e.key, e.value)).collect())
        .map_err(|e| e.line)
}

fn oracle(text: &str) -> Result<Vec<(String, String)>, ()> {
    dotenvy::from_read_iter(text.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| ())
}

/// Inputs covering the syntax; variable names are ones no test machine sets.
const CASES: &[&str] = &[
    "A=1\nB=2\n",
    "A=1\r\nB=2\r\n",
    "# comment\n\nA=1 # trailing\n",
    "A=a#b\n",
    "export A=1\nexport B = 2\n",
    "export=x\n",
    "A='single $UAOLX_NOPE \\n'\n",
    "A=\"double \\\"q\\\" \\n \\$ \\\\ end\"\n",
    "A=\"multi\nline\nvalue\"\nB=after\n",
    "A='multi\nline'\n",
    "A=\nB=   \nC=  # c\n",
    "A=s\\ ix\n",
    "KEY.WITH.DOTS=1\n_UNDER=2\n",
    "A=1\nB=$A\nC=${A}x\nD=\"${A} y\"\n",
    "A=x\nB=$A_after\n",
    "A=${UAOLX_UNSET}\n",
    "A=one two\n",
    "A=\"unterminated\n",
    "A='unterminated\n",
    "1A=x\n",
    "A x\n",
    "=x\n",
    "A=\\q\n",
    "A=${open\n",
    "A=1\nA=2\n",
    "   A=indented\n",
    "A=\"x\" # comment\n",
    "A=\"x\"y\n",
    "A=é ü\n",
    "A=\"$A\"\n",
    "A=x\nB=\"pre $A post\"\n",
    "A=\"line1\n# not a comment\nline3\"\n",
    "export\tA=1\nB=1\t# c\n",
    "A=\"crlf\r\ninside\"\r\nB=2\r\n",
    "A='it''s'\n",
    "A=\"a\"'b'c\n",
    "A=a\\\nb\n",
    "A=\"x\" y\n",
    "A=$\n",
    "A=${}\n",
    "A=x\nB=${A}${A}$A$A\n",
    "A=\\\\n",
    "# only a comment",
    "",
    "\n\n\n",
    "A=\"\\\"\n",
    "A=é\nB=${A}\n",
    "   # indented comment\nA=1\n",
    "A= spaced\n",
    "A=1 \n",
];

#[test]
fn matches_dotenvy_on_every_case() {
    for text in CASES {
        let got = ours(text);
        match oracle(text) {
            Ok(want) => assert_eq!(got, Ok(want), "{text:?}"),
            Err(()) => assert!(got.is_err(), "{text:?}: dotenvy rejects, we read {got:?}"),
        }
    }
}

#[test]
fn entries_keep_start_lines_and_lint_facts() {
    let text = "# c\nA=1\nB=\"two\nlines\"\nC=x#y\nD=$A\nE='$A'\nF=z # note\n";
    let got = parse(text, &none).expect("parses");
    let facts: Vec<(&str, usize, bool, bool)> = got
        .iter()
        .map(|e: &Entry| (e.key.as_str(), e.line, e.unquoted_hash, e.expanded))
        .collect();
    assert_eq!(
        facts,
        vec![
            ("A", 2, false, false),
            ("B", 3, false, false),
            ("C", 5, true, false),
            ("D", 6, false, true),
            ("E", 7, false, false),
            ("F", 8, true, false),
        ]
    );
}

#[test]
fn syntax_errors_name_the_line() {
    for (text, line, needle) in [
        ("A=1\nB C\n", 2, "expected `=` after `B`"),
        ("A=1\n\nB=\"open\nC=1\n", 3, "unterminated quoted value"),
        ("A=one two\n", 1, "quote a value that contains spaces"),
        ("A=\\q\n", 1, "unknown escape"),
        ("9=1\n", 1, "expected a variable name"),
    ] {
        let err = parse(text, &none).expect_err(text);
        assert_eq!(err.line, line, "{text:?}");
        let message = err.why.to_string();
        assert!(message.contains(needle), "{text:?}: {message}");
    }
}

#[test]
fn a_byte_order_mark_is_skipped_as_dotenvy_load_does() {
    assert_eq!(
        ours("\u{feff}A=bom\n"),
        Ok(vec![("A".into(), "bom".into())])
    );
}

#[test]
fn expansion_prefers_outer_lookup() {
    let outer = |n: &str| (n == "A").then(|| "from-os".to_string());
    let got = parse("A=file\nB=${A}\n", &outer).expect("parses");
    assert_eq!(got[1].value, "from-os");
}

/// A deterministic stream of small random inputs over the characters that
/// matter to the grammar, each compared with dotenvy.
#[test]
fn agrees_with_dotenvy_on_generated_inputs() {
    const ALPHABET: &[char] = &[
        'A', 'B', '=', '"', '\'', '\\', '$', '{', '}', '#', ' ', '\n', 'x', '_', '1', '.', 'n',
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut accepted = 0;
    for _ in 0..20_000 {
        let mut text = String::new();
        for _ in 0..1 + next() % 3 {
            // Mostly `KEY=<random value>`, sometimes a line of pure noise.
            if next() % 5 != 0 {
                text.push_str(["A=", "B =", "export A=", "A.B="][(next() % 4) as usize]);
            }
            let len = (next() % 12) as usize;
            text.extend((0..len).map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize]));
            text.push('\n');
        }
        // (Every line ends in a newline: our one documented difference is a
        // last line ending in whitespace without one.)
        let got = ours(&text);
        match oracle(&text) {
            Ok(want) => {
                accepted += 1;
                assert_eq!(got, Ok(want), "{text:?}");
            }
            Err(()) => assert!(got.is_err(), "{text:?}: dotenvy rejects, we read {got:?}"),
        }
    }
    // Both outcomes are well represented (the generator is not degenerate).
    assert!((4_000..18_000).contains(&accepted), "{accepted} accepted");
}
