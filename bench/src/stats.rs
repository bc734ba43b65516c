//! Small statistics for the figures: medians, percentiles, and Docker's RFC 3339 timestamps
//! turned into Unix nanoseconds (so no date crate is needed for one format).

pub fn median(values: &mut [f64]) -> f64 {
    percentile(values, 50.0)
}

/// Nearest-rank percentile; NaN for no values.
pub fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

/// `2026-11-22T01:51:05.123456789Z` → Unix nanoseconds. Docker always writes UTC with `Z`.
pub fn docker_time_nanos(text: &str) -> Option<i128> {
    let (date, time) = text.strip_suffix('Z')?.split_once('T')?;
    let mut ymd = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, d) = (ymd.next()??, ymd.next()??, ymd.next()??);
    let (hms, fraction) = time.split_once('.').unwrap_or((time, "0"));
    let mut parts = hms.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (hh, mm, ss) = (parts.next()??, parts.next()??, parts.next()??);
    let digits: String = fraction.chars().take(9).collect();
    let nanos = digits.parse::<i64>().ok()? * 10i64.pow(9 - digits.len() as u32);
    let seconds = days_from_civil(y, m, d) * 86_400 + hh * 3_600 + mm * 60 + ss;
    Some(i128::from(seconds) * 1_000_000_000 + i128::from(nanos))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(median(&mut v), 50.0);
        assert_eq!(percentile(&mut v, 99.0), 99.0);
        assert!(median(&mut []).is_nan());
    }

    #[test]
    fn docker_timestamps() {
        assert_eq!(docker_time_nanos("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            docker_time_nanos("2026-11-22T01:51:05.5Z"),
            Some(1_795_312_265_500_000_000)
        );
        assert_eq!(
            docker_time_nanos("2000-03-01T00:00:00.000000001Z"),
            Some(951_868_800_000_000_001)
        );
        assert_eq!(docker_time_nanos("garbage"), None);
    }
}
