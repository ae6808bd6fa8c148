//! Supervisor events: `tracing` (filtered by `RUST_LOG`, default `info`) routed
//! into the output sink, so they interleave in order with the services' lines.
//!
//! `RUST_LOG` is read as `level` or `target=level` directives, comma-separated
//! ([`Targets`]); tracing-subscriber's `EnvFilter` (span and field filters too)
//! brought a regex engine into the binary, about 0.2 MB for nothing we use.
//!
//! The subscriber is our own, not tracing-subscriber's `Registry` with
//! layers: we record no spans, and the registry's span store (a sharded slab
//! of 4096 shard pointers, written at start) was 32 KiB of every `up`'s heap.

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::Layer;

use super::emit::emit_event;

/// Install the global subscriber once (later calls are no-ops).
pub(crate) fn init() {
    let spec = std::env::var("RUST_LOG").unwrap_or_default();
    let sink = SinkSubscriber {
        filter: filter(&spec),
    };
    let _ = tracing::subscriber::set_global_default(sink);
}

/// The filter `RUST_LOG` asks for; `info` when unset, empty or unreadable.
fn filter(spec: &str) -> Targets {
    let parsed = spec.trim().parse::<Targets>().ok();
    parsed
        .filter(|_| !spec.trim().is_empty())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO))
}

/// Formats each event `filter` lets through with [`emit_event`]; spans are
/// not recorded (we make none; a library's span gets a dummy id).
struct SinkSubscriber {
    filter: Targets,
}

impl Subscriber for SinkSubscriber {
    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        self.filter.would_enable(meta.target(), meta.level())
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Layer::<Self>::max_level_hint(&self.filter)
    }

    fn new_span(&self, _span: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _span: &Id, _values: &Record<'_>) {}

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut v = Fields::default();
        event.record(&mut v);
        let level = event.metadata().level().as_str();
        emit_event(level, v.service.as_deref(), &v.message, &v.fields);
    }

    fn enter(&self, _span: &Id) {}

    fn exit(&self, _span: &Id) {}
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
