//! Kubernetes' `$(VAR)` expansion, undone. The kubelet expands `$(NAME)` in a
//! container's `command` and `args` from the container's environment, turns
//! `$$` into `$`, and keeps an unknown `$(NAME)` as written — so an argument
//! copied verbatim is not the argument `up` passes (`echo '$(HOME)'` prints
//! the pod's home, `$$` becomes `$`). Worse, its expander (Go,
//! `third_party/forked/golang/expansion`) copies the byte after a lone `$`
//! through `string(byte)`, which re-encodes a non-ASCII byte: `$é` arrives
//! mangled. Doubling **every** `$` is the one escape that survives all of
//! that: each `$$` pair is read as an escaped `$`, and nothing else is
//! touched. The same expander runs over `exec` readiness check commands
//! (`ExpandContainerCommandOnlyStatic`, from the container's `env` only), so
//! they are escaped the same way; `envFrom` values are never expanded.

/// `arg` for a container's `command`/`args`, so the process receives `arg`.
pub(super) fn kubernetes_arg(arg: &str) -> String {
    arg.replace('$', "$$")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kubelet's `expansion.Expand`, byte for byte (including the
    /// `string(byte)` re-encoding of the byte after a lone `$`), with an
    /// environment where every `$(NAME)` resolves to `<NAME>`.
    fn kubelet_expand(input: &str) -> Vec<u8> {
        let b = input.as_bytes();
        let mut out = Vec::new();
        let mut checkpoint = 0;
        let mut cursor = 0;
        while cursor < b.len() {
            if b[cursor] == b'$' && cursor + 1 < b.len() {
                out.extend_from_slice(&b[checkpoint..cursor]);
                let rest = &b[cursor + 1..];
                let advance = match rest[0] {
                    b'$' => {
                        out.push(b'$');
                        1
                    }
                    b'(' => match rest.iter().position(|&c| c == b')') {
                        Some(close) => {
                            out.push(b'<');
                            out.extend_from_slice(&rest[1..close]);
                            out.push(b'>');
                            close + 1
                        }
                        None => {
                            out.extend_from_slice(b"$(");
                            1
                        }
                    },
                    other => {
                        out.push(b'$');
                        let mut buf = [0; 4];
                        out.extend_from_slice(char::from(other).encode_utf8(&mut buf).as_bytes());
                        1
                    }
                };
                cursor += advance;
                checkpoint = cursor + 1;
            }
            cursor += 1;
        }
        out.extend_from_slice(&b[checkpoint..]);
        out
    }

    #[test]
    fn the_model_is_the_kubelets() {
        // Documented behaviour (Kubernetes "Define a command and arguments").
        assert_eq!(kubelet_expand("$(HOME)/x"), b"<HOME>/x");
        assert_eq!(kubelet_expand("$$(HOME)"), b"$(HOME)");
        assert_eq!(kubelet_expand("a$$b"), b"a$b");
        assert_eq!(kubelet_expand("$HOME $( $"), b"$HOME $( $");
        assert_ne!(
            kubelet_expand("$é"),
            "$é".as_bytes(),
            "the re-encoding quirk"
        );
    }

    #[test]
    fn every_escaped_argument_arrives_unchanged() {
        let pieces = ["$", "(", ")", "$$", "$(A)", "é", "x", " ", "$(", "\n"];
        let mut n = 0;
        // Every string of up to 4 pieces.
        let mut stack = vec![String::new()];
        while let Some(s) = stack.pop() {
            assert_eq!(kubelet_expand(&kubernetes_arg(&s)), s.as_bytes(), "{s:?}");
            n += 1;
            if s.chars().count() < 6 {
                stack.extend(pieces.iter().map(|p| format!("{s}{p}")));
            }
        }
        assert!(n > 10_000, "{n}");
        // And verbatim copying was wrong for each kind.
        for s in ["$(HOME)", "a$$b", "$é"] {
            assert_ne!(kubelet_expand(s), s.as_bytes(), "{s}");
        }
    }
}
