//! Supervisor events: `tracing` (filtered by `RUST_LOG`, default `info`) routed
//! into the output sink, so they interleave in order with the services' lines.
//!
//! `RUST_LOG` is read as `level` or `target=level` directives, comma-separated
//! ([`Targets`]); tracing-subscriber's `EnvFilter` (span and field filters too)
//! brought a regex engine into the binary, about 0.2 MB for nothing we use.

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

use super::emit::emit_event;

/// Install the global subscriber once (later calls are no-ops).
pub(crate) fn init() {
    let spec = std::env::var("RUST_LOG").unwrap_or_default();
    let _ = tracing_subscriber::registry()
        .with(filter(&spec))
        .with(SinkLayer)
        .try_init();
}

/// The filter `RUST_LOG` asks for; `info` when unset, empty or unreadable.
fn filter(spec: &str) -> Targets {
    let parsed = spec.trim().parse::<Targets>().ok();
    parsed
        .filter(|_| !spec.trim().is_empty())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO))
}

/// Formats each event through [`emit_event`].
struct SinkLayer;

impl<S: Subscriber> Layer<S> for SinkLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut v = Fields::default();
        event.record(&mut v);
        let level = event.metadata().level().as_str();
        emit_event(level, v.service.as_deref(), &v.message, &v.fields);
    }
}

#[derive(Default)]
struct Fields {
    message: String,
    service: Option<String>,
    fields: Vec<(String, String)>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.to_owned());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.to_string());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.to_string());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, format!("{value:?}"));
    }
}

impl Fields {
    fn put(&mut self, field: &Field, value: String) {
        match field.name() {
            "message" => self.message = value,
            "service" => self.service = Some(value),
            name => self.fields.push((name.to_owned(), value)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::filter;
    use tracing::Level;

    #[test]
    fn rust_log_levels_and_targets() {
        let f = filter("");
        assert!(f.would_enable("uaol_supervisor::x", &Level::INFO));
        assert!(!f.would_enable("uaol_supervisor::x", &Level::DEBUG));
        let f = filter("warn,uaol_supervisor::supervisor=trace");
        assert!(!f.would_enable("uaol_supervisor::db", &Level::INFO));
        assert!(f.would_enable("uaol_supervisor::supervisor::engine", &Level::TRACE));
        let f = filter("debug");
        assert!(f.would_enable("anything", &Level::DEBUG));
        let f = filter("=!not a filter");
        assert!(f.would_enable("uaol_supervisor", &Level::INFO));
        assert!(!f.would_enable("uaol_supervisor", &Level::DEBUG));
    }
}
