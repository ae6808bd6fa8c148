//! The one error type of the namespace system calls: a sentence, because
//! `check` and `status` show it, and because a trial's refusal comes from a
//! forked child over a pipe. Below `contain` and its platform halves
//! (`contain_sys`, `contain_none`, `contain_thread`), which all return it.

/// Why the kernel refused a namespace, as the sentence `check` and `status`
/// show (it may come from a forked trial child over a pipe: text, not errno).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct NamespaceRefusal(pub(crate) String);

impl From<String> for NamespaceRefusal {
    fn from(why: String) -> NamespaceRefusal {
        NamespaceRefusal(why)
    }
}
