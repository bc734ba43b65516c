//! Deterministic formatting of times and sizes. Server and browser must render the same text
//! for the same data, so nothing here reads the clock or the locale.

/// Unix seconds as `YYYY-MM-DD HH:MM UTC`.
pub fn unix_time(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let rem = seconds.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// Unix milliseconds as `YYYY-MM-DD HH:MM:SS UTC` (the audit log wants the seconds).
pub fn unix_millis(ms: i64) -> String {
    let seconds = ms.div_euclid(1000);
    let (y, m, d) = civil_from_days(seconds.div_euclid(86_400));
    let rem = seconds.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Unix milliseconds as RFC 3339 in UTC, `YYYY-MM-DDTHH:MM:SSZ` (what a webhook's reader
/// parses).
pub fn rfc3339(ms: i64) -> String {
    unix_millis(ms).replacen(' ', "T", 1).replace(" UTC", "Z")
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Docker's RFC 3339 timestamps (`2026-11-21T22:37:17.123456789Z`) shortened to seconds.
/// Docker's zero time (`0001-01-01T00:00:00Z`) means "never".
pub fn docker_time(rfc3339: &str) -> String {
    if rfc3339.starts_with("0001-01-01") {
        return "never".into();
    }
    let seconds = rfc3339.get(..19).unwrap_or(rfc3339);
    format!("{} UTC", seconds.replacen('T', " ", 1))
}

/// A span at its largest unit: `3 d`, `5 h`, `12 min`, `40 s` (milliseconds in; a
/// negative span is `0 s`).
pub fn age(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        s if s >= 86_400 => format!("{} d", s / 86_400),
        s if s >= 3_600 => format!("{} h", s / 3_600),
        s if s >= 60 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// Bytes in binary units, one decimal.
pub fn bytes(n: i64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value.abs() >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_in_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_796_644_800_999), "2026-12-07T12:00:00Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn ages_read_at_their_largest_unit() {
        assert_eq!(age(40_000), "40 s");
        assert_eq!(age(12 * 60_000), "12 min");
        assert_eq!(age(5 * 3_600_000 + 1), "5 h");
        assert_eq!(age(3 * 86_400_000), "3 d");
        assert_eq!(age(-5), "0 s");
    }

    #[test]
    fn unix_times() {
        assert_eq!(unix_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(unix_time(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(unix_time(1_795_214_220), "2026-11-20 22:37 UTC");
        assert_eq!(unix_millis(1_795_214_237_999), "2026-11-20 22:37:17 UTC");
    }

    #[test]
    fn docker_times() {
        assert_eq!(
            docker_time("2026-11-21T22:37:17.6237Z"),
            "2026-11-21 22:37:17 UTC"
        );
        assert_eq!(docker_time("0001-01-01T00:00:00Z"), "never");
    }

    #[test]
    fn byte_sizes() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(25_769_803_776), "24.0 GiB");
    }
}
