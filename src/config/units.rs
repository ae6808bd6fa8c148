//! Human units in supervisor.toml: durations (`"250ms"`, `"1m30s"`), sizes
//! (`"512MiB"`, `"100KB"`, `"1024"`) and signals (`"SIGTERM"`, `"TERM"`, `"15"`).
//! Pure parsing; errors ([`UnitError`]) print as short phrases the caller
//! prefixes with the key.

use std::str::FromStr;
use std::time::Duration;

use nix::sys::signal::Signal;

/// Why a duration, size or signal was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum UnitError {
    /// Nothing written.
    #[error("empty duration (expected e.g. \"250ms\", \"10s\", \"5m\", \"1h\")")]
    EmptyDuration,
    /// A part's number is not one.
    #[error("invalid duration `{0}` (expected e.g. \"250ms\", \"10s\", \"5m\")")]
    Duration(String),
    /// A number without a unit.
    #[error("duration `{text}` has no unit (write e.g. \"{num}s\" or \"{num}ms\")")]
    NoDurationUnit {
        /// The whole value.
        text: String,
        /// The number without a unit.
        num: String,
    },
    /// A unit that is not `ms`, `s`, `m`, `h` or `d`.
    #[error("unknown duration unit `{unit}` in `{text}` (use ms, s, m, h or d)")]
    DurationUnit {
        /// The unit.
        unit: String,
        /// The whole value.
        text: String,
    },
    /// Over ten years.
    #[error("duration `{0}` is too long (at most 10 years)")]
    DurationTooLong(String),
    /// The number is not one.
    #[error("invalid size `{0}` (expected e.g. \"512MiB\", \"1GiB\", \"100KB\")")]
    Size(String),
    /// An unknown size unit.
    #[error("unknown size unit `{unit}` in `{text}` (use B, KB, MB, GB, KiB, MiB, GiB)")]
    SizeUnit {
        /// The unit.
        unit: String,
        /// The whole value.
        text: String,
    },
    /// A negative number of bytes.
    #[error("a size cannot be negative")]
    NegativeSize,
    /// Not below 2^64 bytes.
    #[error("size `{0}` is too large")]
    SizeTooLarge(String),
    /// A signal name this system does not have.
    #[error("unknown signal `{0}` (expected a name like \"SIGTERM\" or \"TERM\", or a number)")]
    Signal(String),
    /// A signal number this system does not have.
    #[error("unknown signal number {0}")]
    SignalNumber(i64),
}

/// Parse a duration: one or more `<number><unit>` parts, unit one of
/// `ms`, `s`, `m`, `h`, `d`. `"0"` alone is accepted (zero needs no unit).
pub(crate) fn parse_duration(text: &str) -> Result<Duration, UnitError> {
    let s = text.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err(UnitError::EmptyDuration);
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, tail) = rest.split_at(num_len);
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let n: f64 = num.parse().map_err(|_| UnitError::Duration(s.into()))?;
        let scale = match unit {
            "ms" => 0.001,
            "s" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            "d" => 86400.0,
            "" => {
                return Err(UnitError::NoDurationUnit {
                    text: s.into(),
                    num: num.into(),
                })
            }
            other => {
                return Err(UnitError::DurationUnit {
                    unit: other.into(),
                    text: s.into(),
                })
            }
        };
        total += n * scale;
        rest = tail;
    }
    if !total.is_finite() || total > 10.0 * 365.0 * 86400.0 {
        return Err(UnitError::DurationTooLong(s.into()));
    }
    Ok(Duration::from_secs_f64(total))
}

/// Parse a size in bytes: a plain number, or a number with `B`, `KB`/`MB`/`GB`/`TB`
/// (powers of 1000) or `KiB`/`MiB`/`GiB`/`TiB` (powers of 1024); case-insensitive.
pub(crate) fn parse_size(text: &str) -> Result<u64, UnitError> {
    let s = text.trim();
    let num_len = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(num_len);
    let n: f64 = num.parse().map_err(|_| UnitError::Size(s.into()))?;
    let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(UnitError::SizeUnit {
                unit: other.into(),
                text: s.into(),
            })
        }
    };
    let bytes = n * scale;
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(UnitError::SizeTooLarge(s.into()));
    }
    Ok(bytes.round() as u64)
}

/// Parse a signal: `SIGTERM`, `TERM` (case-insensitive) or its number.
pub(crate) fn parse_signal(text: &str) -> Result<Signal, UnitError> {
    let s = text.trim();
    if let Ok(n) = s.parse::<i32>() {
        return signal_number(i64::from(n));
    }
    let upper = s.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    Signal::from_str(&name).map_err(|_| UnitError::Signal(s.into()))
}

/// A signal by number.
pub(crate) fn signal_number(n: i64) -> Result<Signal, UnitError> {
    i32::try_from(n)
        .ok()
        .and_then(|n| Signal::try_from(n).ok())
        .ok_or(UnitError::SignalNumber(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let ok = [
            ("250ms", 250),
            ("10s", 10_000),
            ("5m", 300_000),
            ("1h", 3_600_000),
            ("0s", 0),
            ("0", 0),
            ("1m30s", 90_000),
            ("1.5s", 1_500),
        ];
        for (text, ms) in ok {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_millis(ms)),
                "{text}"
            );
        }
        for (text, needle) in [
            ("10", "no unit"),
            ("10x", "unknown duration unit `x`"),
            ("", "empty"),
            ("s", "invalid duration"),
            ("1..2s", "invalid duration"),
            ("99999999999h", "too long"),
        ] {
            let err = parse_duration(text).expect_err(text);
            assert!(err.to_string().contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn sizes() {
        let ok = [
            ("512MiB", 512 * 1024 * 1024),
            ("1GiB", 1 << 30),
            ("100KB", 100_000),
            ("1024", 1024),
            ("1kib", 1024),
            ("10 MB", 10_000_000),
        ];
        for (text, bytes) in ok {
            assert_eq!(parse_size(text), Ok(bytes), "{text}");
        }
        for (text, needle) in [
            ("12XB", "unknown size unit"),
            ("MiB", "invalid size"),
            ("", "invalid size"),
        ] {
            let err = parse_size(text).expect_err(text);
            assert!(err.to_string().contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn signals() {
        for (text, sig) in [
            ("SIGTERM", Signal::SIGTERM),
            ("TERM", Signal::SIGTERM),
            ("term", Signal::SIGTERM),
            ("15", Signal::SIGTERM),
            ("SIGINT", Signal::SIGINT),
            ("9", Signal::SIGKILL),
        ] {
            assert_eq!(parse_signal(text), Ok(sig), "{text}");
        }
        for text in ["SIGFOO", "0", "999", ""] {
            assert!(parse_signal(text).is_err(), "{text}");
        }
    }
}
