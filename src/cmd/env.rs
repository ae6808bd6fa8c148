//! `env SERVICE [--explain] [--show-secrets] [--format dotenv|json]`: exactly
//! the environment the service will get. The dotenv output is re-readable by
//! our own reader (and dotenvy); `--explain` adds each variable's source and
//! what it shadowed as a trailing comment, which keeps it re-readable.

use serde_json::{json, Map, Value};

use super::common::load_plan;
use super::{warn, Outcome};
use crate::cli::{Cli, EnvArgs, EnvFormat};
use crate::diag::suggest;
use crate::env::EnvVar;
use crate::error::Error;
use crate::exit;
use crate::plan::ServicePlan;

/// Run `env`.
pub(crate) fn run(cli: &Cli, args: &EnvArgs) -> Outcome {
    let plan = load_plan(cli)?;
    let copies = plan.copies(&args.service);
    if !copies.is_empty() {
        return Err(Error::Replicas {
            service: args.service.clone(),
            copies: copies.iter().map(|s| s.name.clone()).collect(),
        });
    }
    let Some(service) = plan.service(&args.service) else {
        let names = plan.services.iter().map(|s| s.name.as_str());
        return Err(Error::UnknownService {
            service: args.service.clone(),
            hint: suggest::did_you_mean(&args.service, names),
            known: plan.services.iter().map(|s| s.name.clone()).collect(),
        });
    };
    let out = match args.format {
        EnvFormat::Dotenv => dotenv(service, args.explain, args.show_secrets),
        EnvFormat::Json => format!("{}\n", to_json(service, args.explain, args.show_secrets)),
    };
    print!("{out}");
    Ok(exit::OK)
}

/// The dotenv rendering.
pub(crate) fn dotenv(s: &ServicePlan, explain: bool, show_secrets: bool) -> String {
    let mut out = String::new();
    if explain {
        let masked = if show_secrets {
            "secrets shown"
        } else {
            "secrets masked"
        };
        out.push_str(&format!(
            "# environment of `{}`: {} variables ({masked})\n",
            s.name,
            s.env.len()
        ));
    }
    for (name, var) in &s.env.vars {
        let line = format!("{name}=\"{}\"", escape(&var.display_value(show_secrets)));
        let line = if is_dotenv_name(name) {
            line
        } else {
            warn(format_args!(
                "`{name}` is not a dotenv variable name; printed as a comment"
            ));
            format!("# {line}")
        };
        out.push_str(&line);
        if explain {
            out.push_str(&format!("  # {}", explain_var(var, show_secrets)));
        }
        out.push('\n');
    }
    out
}

/// `from SOURCE; shadows SOURCE = VALUE, …` — the overridden values shown
/// (masked like any value) because they are what makes a surprise visible.
fn explain_var(var: &EnvVar, show_secrets: bool) -> String {
    let mut s = format!("from {}", var.source);
    if !var.shadowed.is_empty() {
        let sh: Vec<String> = var
            .shadowed
            .iter()
            .map(|sh| {
                let v = one_line(&sh.display_value(show_secrets));
                format!("{} = {v}", sh.source)
            })
            .collect();
        s.push_str(&format!("; shadows {}", sh.join(", ")));
    }
    s
}

/// A value inside a trailing comment: line breaks escaped, so the output
/// stays one line per variable.
fn one_line(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

/// Escape for a double-quoted dotenv value as dotenvy reads it.
pub(crate) fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '$' => out.push_str("\\$"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Names dotenvy can read: `[A-Za-z_][A-Za-z0-9_.]*`.
pub(crate) fn is_dotenv_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

fn to_json(s: &ServicePlan, explain: bool, show_secrets: bool) -> Value {
    let mut m = Map::new();
    for (name, var) in &s.env.vars {
        let value = var.display_value(show_secrets);
        let v = if explain {
            let shadowed: Vec<Value> = var
                .shadowed
                .iter()
                .map(|sh| json!({"source": sh.source.to_string(), "value": sh.display_value(show_secrets)}))
                .collect();
            json!({"value": value, "secret": var.is_secret(), "source": var.source.to_string(), "shadowed": shadowed})
        } else {
            json!(value)
        };
        m.insert(name.clone(), v);
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::dotenv::parse;

    #[test]
    fn dotenv_names() {
        for (name, ok) in [
            ("A", true),
            ("_A1", true),
            ("A.B", true),
            ("1A", false),
            ("A-B", false),
            ("", false),
            ("É", false),
        ] {
            assert_eq!(is_dotenv_name(name), ok, "{name}");
        }
    }

    #[test]
    fn dotenv_output_round_trips_through_our_reader() {
        let values = [
            "plain",
            "",
            "with space",
            "quote \" inside",
            "back\\slash",
            "dollar $HOME ${X} $$",
            "multi\nline\n",
            "tab\tcr\r",
            "hash # not comment",
            "single ' quote",
            "unicode é ✓",
            "trailing\\",
        ];
        let mut text = String::new();
        for (i, v) in values.iter().enumerate() {
            text.push_str(&format!("V{i}=\"{}\"  # from somewhere\n", escape(v)));
        }
        let got = parse(&text, &|_| None).expect("re-readable");
        let got: Vec<&str> = got.iter().map(|e| e.value.as_str()).collect();
        assert_eq!(got, values);
    }
}
