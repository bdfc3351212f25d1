//! UTC calendar arithmetic for quota periods, usage reports and timestamps (day numbers since
//! 1970-01-01; Howard Hinnant's civil-date algorithms, a few lines instead of a date crate).

/// A quota period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// A UTC day.
    Day,
    /// A week from Sunday 00:00 UTC.
    Week,
    /// A calendar month in UTC.
    Month,
}

/// Days since 1970-01-01 (UTC) of a civil date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (UTC) of a day number.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Today's UTC day number.
pub fn today() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| day_of_ms(d.as_millis()))
        .unwrap_or(0)
}

/// The day (since 1970-01-01, UTC) of an instant in milliseconds since the epoch.
pub fn day_of_ms(ms: u128) -> i64 {
    (ms / 86_400_000) as i64
}

/// The first day of the period that contains `day`.
pub fn period_start(period: Period, day: i64) -> i64 {
    match period {
        Period::Day => day,
        // 1970-01-01 was a Thursday: (day + 4) % 7 is 0 on Sundays.
        Period::Week => day - (day + 4).rem_euclid(7),
        Period::Month => {
            let (y, m, _) = civil_from_days(day);
            days_from_civil(y, m, 1)
        }
    }
}

/// `2026-11-30` → day number.
pub fn parse_day(s: &str) -> Option<i64> {
    let mut it = s.splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.parse().ok()?;
    ((1..=12).contains(&m) && (1..=31).contains(&d)).then(|| days_from_civil(y, m, d))
}

/// Day number → `2026-11-30`.
pub fn format_day(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Seconds since the epoch as ISO 8601 / RFC 3339 (`2026-11-30T12:00:00Z`).
pub fn format_iso(secs: u64) -> String {
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let t = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        t / 3600,
        t / 60 % 60,
        t % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
        let d = parse_day("2026-11-30").unwrap();
        assert_eq!(format_day(d), "2026-11-30");
        // 2026-11-29 is a Sunday.
        assert_eq!(format_day(period_start(Period::Week, d)), "2026-11-29");
        assert_eq!(format_day(period_start(Period::Week, d - 1)), "2026-11-29");
        assert_eq!(format_day(period_start(Period::Week, d - 2)), "2026-11-22");
        assert_eq!(format_day(period_start(Period::Month, d)), "2026-11-01");
        assert_eq!(period_start(Period::Day, d), d);
        assert_eq!(parse_day("2026-13-01"), None);
    }
}
