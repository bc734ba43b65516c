//! A window of time (`--update-window`: when automatic updates may run; an alert rule's
//! mute): when it is open, as days of the
//! week and a time of day in the server's time zone (`TZ`, else `/etc/localtime`; UTC in
//! a container that has neither). `mon-fri 02:00-05:00`, `sat,sun 22:00-06:00` (past
//! midnight: the night that begins on those days), `03:00-04:00` (every day).

use std::sync::Once;

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const MINUTE_MS: i64 = 60_000;
const DAY_MINUTES: i64 = 24 * 60;
/// How far a change of clock (daylight saving) moves a local time: an hour, each way.
const DST_MINUTES: i64 = 60;

/// Days (Monday first) and minutes of the day, from (inclusive) to (exclusive).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    days: [bool; 7],
    from: u32,
    to: u32,
    text: String,
}

impl Window {
    /// `[DAYS ]HH:MM-HH:MM`: DAYS a comma-separated list of days or ranges of days
    /// (`mon-fri`, `sat,sun`, `mon,wed-fri`); none means every day.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = |why: &str| {
            format!("window {text:?}: {why} (expected like `mon-fri 02:00-05:00` or `03:00-04:00`)")
        };
        let text = text.trim();
        let (days_text, times) = match text.rsplit_once(' ') {
            Some((days, times)) => (Some(days.trim()), times),
            None => (None, text),
        };
        if days_text.is_some_and(|d| d.split(',').all(|p| p.trim().is_empty())) {
            return Err(bad("no day named before the hours"));
        }
        let mut days = [days_text.is_none(); 7];
        for part in days_text
            .unwrap_or_default()
            .split(',')
            .filter(|p| !p.is_empty())
        {
            let (first, last) = part.split_once('-').unwrap_or((part, part));
            let day = |name: &str| {
                DAYS.iter()
                    .position(|d| d.eq_ignore_ascii_case(name.trim()))
                    .ok_or_else(|| bad(&format!("{name:?} is not a day (mon … sun)")))
            };
            let (first, last) = (day(first)?, day(last)?);
            let mut d = first;
            loop {
                days[d] = true;
                if d == last {
                    break;
                }
                d = (d + 1) % 7;
            }
        }
        let (from, to) = times.split_once('-').ok_or_else(|| bad("no time range"))?;
        let minute = |hhmm: &str| -> Result<u32, String> {
            let (h, m) = hhmm.split_once(':').ok_or_else(|| bad("a time is HH:MM"))?;
            if !(h.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit()) {
                return Err(bad("a time is HH:MM"));
            }
            let (h, m): (u32, u32) = (
                h.parse().map_err(|_| bad("a time is HH:MM"))?,
                m.parse().map_err(|_| bad("a time is HH:MM"))?,
            );
            (h < 24 && m < 60 && hhmm.len() <= 5)
                .then_some(h * 60 + m)
                .ok_or_else(|| bad(&format!("{hhmm} is not a time of day")))
        };
        Ok(Self {
            days,
            from: minute(from)?,
            to: minute(to)?,
            text: text.to_string(),
        })
    }

    /// As it was given.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the window is open at `at` (unix ms).
    pub fn contains(&self, at: i64) -> bool {
        let (day, minute) = local(at);
        let before = (day + 6) % 7;
        match self.from.cmp(&self.to) {
            // The whole day.
            std::cmp::Ordering::Equal => self.days[day],
            std::cmp::Ordering::Less => self.days[day] && (self.from..self.to).contains(&minute),
            // Past midnight: the evening of a window day, or the morning after one.
            std::cmp::Ordering::Greater => {
                (self.days[day] && minute >= self.from) || (self.days[before] && minute < self.to)
            }
        }
    }

    /// The first moment from `at` on (whole minutes) when the window is open; `None` when
    /// it never is. The window opens only at its start on one of the next 8 days, so those
    /// moments are tried (with the hour around each, where a change of clock moves it),
    /// not every minute of the week: a page that shows when updates come stays cheap.
    pub fn next_open(&self, at: i64) -> Option<i64> {
        if self.contains(at) {
            return Some(at);
        }
        let minute = at - at.rem_euclid(MINUTE_MS);
        // A window of whole days opens at midnight.
        let start = if self.from == self.to { 0 } else { self.from };
        let (_, now) = local(minute);
        let ahead = (i64::from(start) - i64::from(now)).rem_euclid(DAY_MINUTES);
        (0..=8).find_map(|day| {
            let guess = minute + (ahead + day * DAY_MINUTES) * MINUTE_MS;
            (-DST_MINUTES..=DST_MINUTES)
                .map(|shift| guess + shift * MINUTE_MS)
                .filter(|t| *t > at)
                .find(|t| self.contains(*t))
        })
    }
}

/// The day of the week (Monday 0) and the minute of the day at `at` (unix ms), in the
/// server's time zone.
fn local(at: i64) -> (usize, u32) {
    // POSIX's tzset (the libc crate does not declare it): reads TZ and the zone files.
    unsafe extern "C" {
        fn tzset();
    }
    static TZ: Once = Once::new();
    // SAFETY: tzset has no preconditions; called once, before any localtime_r.
    TZ.call_once(|| unsafe { tzset() });
    // Typed by localtime_r's own signature (`time_t`, whose alias musl's libc deprecates).
    let secs = at.div_euclid(1000) as _;
    // SAFETY: an all-zero `tm` is a valid value for localtime_r to fill.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call; localtime_r keeps neither.
    if unsafe { libc::localtime_r(&secs, &mut tm) }.is_null() {
        return (0, 0);
    }
    let day = (tm.tm_wday as usize + 6) % 7;
    (day, (tm.tm_hour * 60 + tm.tm_min) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The unix ms of a local moment: the test finds it by walking from a known Monday,
    /// so it holds in any time zone.
    fn at(day: usize, hour: u32, minute: u32) -> i64 {
        let mut t = 1_796_000_000_000i64;
        t -= t.rem_euclid(MINUTE_MS);
        (0..8 * 24 * 60)
            .map(|n| t + n * MINUTE_MS)
            .find(|t| local(*t) == (day, hour * 60 + minute))
            .expect("found within a week")
    }

    #[test]
    fn windows_are_read_and_refused_with_their_words() {
        let w = Window::parse("mon-fri 02:00-05:00").unwrap();
        assert_eq!(w.days, [true, true, true, true, true, false, false]);
        assert_eq!((w.from, w.to), (120, 300));
        let w = Window::parse("sat,sun-mon 22:00-06:00").unwrap();
        assert_eq!(w.days, [true, false, false, false, false, true, true]);
        assert_eq!(Window::parse("03:00-04:00").unwrap().days, [true; 7]);
        for bad in [
            "",
            "mon",
            "funday 01:00-02:00",
            "25:00-26:00",
            "1:00",
            "01:00-01:60",
        ] {
            let e = Window::parse(bad).unwrap_err();
            assert!(e.contains("window"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_window_opens_on_its_days_and_hours_and_past_midnight() {
        let w = Window::parse("mon-fri 02:00-05:00").unwrap();
        assert!(w.contains(at(0, 2, 0)));
        assert!(w.contains(at(4, 4, 59)));
        assert!(!w.contains(at(0, 5, 0)));
        assert!(!w.contains(at(5, 3, 0)), "not on Saturday");
        // Friday after the window: the Monday that follows.
        let (friday, monday) = (at(4, 6, 0), at(0, 2, 0));
        let next_monday = match monday > friday {
            true => monday,
            false => monday + 7 * 24 * 3_600_000,
        };
        assert_eq!(w.next_open(friday), Some(next_monday));
        assert_eq!(w.next_open(monday), Some(monday), "open now: now");
        let later = at(0, 1, 30);
        let opening = at(0, 2, 0);
        let expected = match opening > later {
            true => opening,
            false => opening + 7 * 24 * 3_600_000,
        };
        assert_eq!(w.next_open(later), Some(expected), "half an hour before");
        let night = Window::parse("sat 22:00-06:00").unwrap();
        assert!(night.contains(at(5, 23, 0)));
        assert!(night.contains(at(6, 5, 59)), "the morning after Saturday");
        assert!(!night.contains(at(6, 23, 0)), "Sunday evening is not in it");
        assert!(
            !night.contains(at(5, 5, 0)),
            "Saturday morning is Friday's night"
        );
    }
}
