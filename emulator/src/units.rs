//! Parsing and printing quantities the way `tc` writes them.
//!
//! Contract: every parser takes the user's text and returns either the value in
//! base units (nanoseconds, bits per second, bytes, a probability in `[0, 1]`)
//! or a [`UnitError`] whose message names what was wrong and whose hint shows
//! a correct spelling. Parsers never panic on any input.
//!
//! Units follow tc(8): rates in `bit`/`kbit`/`mbit`/`gbit`/`tbit` (powers of
//! 1000), `kibit`… (powers of 1024) and `bps`/`kbps`/`mbps`/`gbps` which — as in
//! tc, and unlike what many people expect — mean *bytes* per second. Sizes in
//! `b`, `kb`/`k`, `mb`/`m`, `gb`/`g` (powers of 1024, as tc), `kbit`/`mbit`
//! (bits). Times in `ns`, `us`/`usec`/`µs`, `ms`/`msec`, `s`/`sec`, `min`, `h`.
//! Percentages need the `%` sign.

use std::fmt;
use std::time::Duration;

/// A quantity that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct UnitError {
    /// What was wrong, naming the offending text.
    pub message: String,
    /// A correct spelling or the accepted units.
    pub hint: Option<String>,
}

impl UnitError {
    fn new(message: impl Into<String>, hint: impl Into<String>) -> Self {
        UnitError { message: message.into(), hint: Some(hint.into()) }
    }
}

/// Splits `text` into its numeric prefix and unit suffix (both trimmed).
fn split_number(text: &str) -> (&str, &str) {
    let t = text.trim();
    let end = t
        .char_indices()
        .find(|&(i, c)| {
            !(c.is_ascii_digit()
                || c == '.'
                || c == '_'
                || (i == 0 && (c == '+' || c == '-'))
                || ((c == 'e' || c == 'E') && t[i + 1..].starts_with(|n: char| n.is_ascii_digit() || n == '-')))
        })
        .map_or(t.len(), |(i, _)| i);
    (t[..end].trim(), t[end..].trim())
}

fn parse_number(num: &str, what: &str, original: &str, example: &str) -> Result<f64, UnitError> {
    let cleaned: String = num.chars().filter(|&c| c != '_').collect();
    if cleaned.is_empty() {
        return Err(UnitError::new(
            format!("{what} `{original}` has no number"),
            format!("write it as e.g. `{example}`"),
        ));
    }
    match cleaned.parse::<f64>() {
        Ok(v) if v.is_finite() => {
            if v < 0.0 {
                Err(UnitError::new(
                    format!("{what} `{original}` is negative"),
                    format!("use a value >= 0, e.g. `{example}`"),
                ))
            } else {
                Ok(v)
            }
        }
        _ => {
            Err(UnitError::new(format!("{what} `{original}` is not a number"), format!("write it as e.g. `{example}`")))
        }
    }
}

/// Parses a duration such as `10ms`, `250us`, `1.5s`, `30s`, `5min`.
pub fn parse_duration(text: &str) -> Result<Duration, UnitError> {
    let (num, unit) = split_number(text);
    let value = parse_number(num, "duration", text, "10ms")?;
    let scale_ns: f64 = match unit.to_ascii_lowercase().as_str() {
        "ns" | "nsec" => 1.0,
        "us" | "usec" | "µs" | "μs" => 1e3,
        "ms" | "msec" => 1e6,
        "s" | "sec" | "secs" => 1e9,
        "m" | "min" | "mins" => 60e9,
        "h" | "hr" | "hour" | "hours" => 3600e9,
        "" if value == 0.0 => 1.0,
        "" => {
            return Err(UnitError::new(
                format!("duration `{text}` has no unit"),
                format!("add a unit, e.g. `{}ms` or `{}us`", num, num),
            ));
        }
        other => {
            return Err(UnitError::new(
                format!("unknown time unit `{other}` in `{text}`"),
                "use ns, us, ms, s, min or h (e.g. `10ms`, `250us`)",
            ));
        }
    };
    let ns = (value * scale_ns).round();
    if ns > u64::MAX as f64 {
        return Err(UnitError::new(format!("duration `{text}` is too large"), "use at most a few centuries"));
    }
    Ok(Duration::from_nanos(ns as u64))
}

/// Parses a rate such as `100mbit`, `1.5gbit`, `64kbit` into bits per second.
pub fn parse_rate(text: &str) -> Result<u64, UnitError> {
    let (num, unit) = split_number(text);
    let value = parse_number(num, "rate", text, "100mbit")?;
    let lower = unit.to_ascii_lowercase();
    let scale: f64 = match lower.as_str() {
        "bit" | "bits" => 1.0,
        "kbit" => 1e3,
        "mbit" => 1e6,
        "gbit" => 1e9,
        "tbit" => 1e12,
        "kibit" => 1024.0,
        "mibit" => 1024.0 * 1024.0,
        "gibit" => 1024.0 * 1024.0 * 1024.0,
        "tibit" => 1024.0f64.powi(4),
        "bps" => 8.0,
        "kbps" => 8e3,
        "mbps" => 8e6,
        "gbps" => 8e9,
        "tbps" => 8e12,
        "kibps" => 8.0 * 1024.0,
        "mibps" => 8.0 * 1024.0 * 1024.0,
        "gibps" => 8.0 * 1024.0 * 1024.0 * 1024.0,
        "" => {
            return Err(UnitError::new(
                format!("rate `{text}` has no unit"),
                format!("add a unit as tc writes it, e.g. `{num}mbit` (megabits/s) or `{num}kbit`"),
            ));
        }
        other => {
            return Err(UnitError::new(
                format!("unknown rate unit `{other}` in `{text}`"),
                "use bit, kbit, mbit, gbit, tbit (bits/s) or bps, kbps, mbps, gbps (BYTES/s, as in tc)",
            ));
        }
    };
    let bps = (value * scale).round();
    if bps < 1.0 {
        return Err(UnitError::new(
            format!("rate `{text}` is below 1 bit/s"),
            "use at least `1bit`; to stop all traffic use a blackhole fault or 100% loss",
        ));
    }
    if bps > 1e15 {
        return Err(UnitError::new(format!("rate `{text}` is above 1 Pbit/s"), "use at most `1000tbit`"));
    }
    Ok(bps as u64)
}

/// Parses a size such as `32kb`, `1500`, `1mb` into bytes (tc's powers of 1024).
pub fn parse_size(text: &str) -> Result<u64, UnitError> {
    let (num, unit) = split_number(text);
    let value = parse_number(num, "size", text, "32kb")?;
    let scale: f64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "kbit" => 1024.0 / 8.0,
        "mbit" => 1024.0 * 1024.0 / 8.0,
        "gbit" => 1024.0 * 1024.0 * 1024.0 / 8.0,
        other => {
            return Err(UnitError::new(
                format!("unknown size unit `{other}` in `{text}`"),
                "use b, kb, mb or gb (powers of 1024, as tc), e.g. `64kb`",
            ));
        }
    };
    let bytes = (value * scale).round();
    if bytes > (1u64 << 50) as f64 {
        return Err(UnitError::new(format!("size `{text}` is too large"), "use at most `1024gb`"));
    }
    Ok(bytes as u64)
}

/// Parses a percentage such as `1.5%` into a probability in `[0, 1]`.
pub fn parse_percent(text: &str) -> Result<f64, UnitError> {
    let t = text.trim();
    let Some(num) = t.strip_suffix('%') else {
        return Err(UnitError::new(
            format!("`{text}` is not a percentage"),
            format!("write it with a percent sign, e.g. `{}%`", t),
        ));
    };
    let value = parse_number(num.trim(), "percentage", text, "1.5%")?;
    if value > 100.0 {
        return Err(UnitError::new(
            format!("percentage `{text}` is above 100%"),
            "a probability must be between 0% and 100%",
        ));
    }
    Ok(value / 100.0)
}

/// Prints a duration the way tc would (`10ms`, `250us`, `1.5s`).
pub fn format_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns == 0 {
        "0ms".to_string()
    } else if ns.is_multiple_of(1_000_000_000) {
        format!("{}s", ns / 1_000_000_000)
    } else if ns.is_multiple_of(1_000_000) {
        format!("{}ms", ns / 1_000_000)
    } else if ns.is_multiple_of(1_000) {
        format!("{}us", ns / 1_000)
    } else {
        format!("{ns}ns")
    }
}

/// Prints a rate the way tc would (`100mbit`, `1500kbit`, `64bit`).
pub fn format_rate(bps: u64) -> String {
    if bps.is_multiple_of(1_000_000_000) {
        format!("{}gbit", bps / 1_000_000_000)
    } else if bps.is_multiple_of(1_000_000) {
        format!("{}mbit", bps / 1_000_000)
    } else if bps.is_multiple_of(1_000) {
        format!("{}kbit", bps / 1_000)
    } else {
        format!("{bps}bit")
    }
}

/// Prints a size in bytes (`1514b`, `64kb`).
pub fn format_size(bytes: u64) -> String {
    if bytes > 0 && bytes.is_multiple_of(1024 * 1024) {
        format!("{}mb", bytes / (1024 * 1024))
    } else if bytes > 0 && bytes.is_multiple_of(1024) {
        format!("{}kb", bytes / 1024)
    } else {
        format!("{bytes}b")
    }
}

/// Prints a probability as a percentage with no trailing zeros (`1.5%`).
pub fn format_percent(p: f64) -> String {
    let v = p * 100.0;
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}%")
}

/// A duration that prints in tc style.
#[derive(Clone, Copy)]
pub struct TcDuration(pub Duration);

impl fmt::Display for TcDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10ms").unwrap(), Duration::from_millis(10));
        assert_eq!(parse_duration("250us").unwrap(), Duration::from_micros(250));
        assert_eq!(parse_duration(" 1.5s ").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration("2min").unwrap(), Duration::from_secs(120));
        let e = parse_duration("10").unwrap_err();
        assert!(e.message.contains("no unit"), "{e:?}");
        assert!(e.hint.unwrap().contains("10ms"));
        assert!(parse_duration("10xs").unwrap_err().message.contains("`xs`"));
        assert!(parse_duration("-5ms").unwrap_err().message.contains("negative"));
        assert!(parse_duration("ms").is_err());
        assert!(parse_duration("1e400s").is_err());
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("100mbit").unwrap(), 100_000_000);
        assert_eq!(parse_rate("1.5Gbit").unwrap(), 1_500_000_000);
        assert_eq!(parse_rate("64kbit").unwrap(), 64_000);
        assert_eq!(parse_rate("1mbps").unwrap(), 8_000_000);
        assert_eq!(parse_rate("1kibit").unwrap(), 1024);
        assert!(parse_rate("100").unwrap_err().hint.unwrap().contains("100mbit"));
        assert!(parse_rate("100mb").is_err());
        assert!(parse_rate("0bit").is_err());
    }

    #[test]
    fn sizes_and_percent() {
        assert_eq!(parse_size("32kb").unwrap(), 32 * 1024);
        assert_eq!(parse_size("1514").unwrap(), 1514);
        assert_eq!(parse_size("8kbit").unwrap(), 1024);
        assert!((parse_percent("1.5%").unwrap() - 0.015).abs() < 1e-15);
        assert_eq!(parse_percent("100%").unwrap(), 1.0);
        assert!(parse_percent("150%").unwrap_err().message.contains("above 100%"));
        assert!(parse_percent("0.5").unwrap_err().hint.unwrap().contains("0.5%"));
    }

    #[test]
    fn printing_round_trips() {
        for s in ["10ms", "250us", "1s", "7ns"] {
            assert_eq!(format_duration(parse_duration(s).unwrap()), s);
        }
        for s in ["100mbit", "10gbit", "64kbit", "1234bit"] {
            assert_eq!(format_rate(parse_rate(s).unwrap()), s);
        }
        assert_eq!(format_percent(0.015), "1.5%");
        assert_eq!(format_percent(0.25), "25%");
        assert_eq!(format_size(65536), "64kb");
    }
}
