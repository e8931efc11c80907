//! RFC 3339 date-times as Kafka timestamps (milliseconds since the Unix
//! epoch), for flags such as `fjord groups reset-offsets --to-datetime`.
//!
//! Only the one fixed format is accepted (`2024-05-01T12:00:00Z`,
//! `2024-05-01T14:00:00.250+02:00`), so a few dozen lines of calendar
//! arithmetic do the job without a date-time dependency. Leap seconds are
//! not representable in Unix time and are rejected.

use crate::error::{Error, Result};

/// Parses an RFC 3339 date-time into milliseconds since the Unix epoch.
///
/// The date and time are separated by `T` (or `t`, or a space, as RFC 3339
/// allows); the offset is `Z` or `±HH:MM`; fractional seconds are optional
/// and truncated to milliseconds.
///
/// ```
/// use fjord_core::datetime::parse_rfc3339_millis;
///
/// assert_eq!(parse_rfc3339_millis("1970-01-01T00:00:01Z")?, 1000);
/// assert_eq!(parse_rfc3339_millis("2024-05-01T14:00:00.25+02:00")?, 1_714_564_800_250);
/// # Ok::<(), fjord_core::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidDateTime`] naming the input and the expected format.
pub fn parse_rfc3339_millis(input: &str) -> Result<i64> {
    parse(input.trim()).ok_or_else(|| Error::InvalidDateTime {
        input: input.to_owned(),
    })
}

fn parse(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    // "YYYY-MM-DDTHH:MM:SS" is 19 bytes, followed by the fraction and offset.
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let hour = digits(&b[11..13])?;
    let minute = digits(&b[14..16])?;
    let second = digits(&b[17..19])?;
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }

    let mut rest = &b[19..];
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix(b".") {
        let len = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if len == 0 {
            return None;
        }
        // Pad or truncate the fraction to three digits.
        millis = fraction[..len]
            .iter()
            .chain(b"000")
            .take(3)
            .fold(0, |acc, d| acc * 10 + i64::from(d - b'0'));
        rest = &fraction[len..];
    }
    let offset_minutes = match rest {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let hours = digits(&[*h1, *h2])?;
            let minutes = digits(&[*m1, *m2])?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let total = hours * 60 + minutes;
            if *sign == b'-' {
                -total
            } else {
                total
            }
        }
        _ => return None,
    };

    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_minutes * 60;
    Some(seconds * 1_000 + millis)
}

/// The value of a run of ASCII digits; `None` if any byte is not a digit.
fn digits(bytes: &[u8]) -> Option<i64> {
    bytes.iter().try_fold(0i64, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
    })
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given proleptic Gregorian date (negative
/// before it), after Howard Hinnant's `days_from_civil`.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let shifted_month = (month + 9) % 12; // March = 0 … February = 11
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        parse_rfc3339_millis(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn known_instants() {
        assert_eq!(ms("1970-01-01T00:00:00Z"), 0);
        assert_eq!(ms("1969-12-31T23:59:59Z"), -1_000);
        // `date -u -d 2000-02-29T12:34:56Z +%s` = 951827696
        assert_eq!(ms("2000-02-29T12:34:56Z"), 951_827_696_000);
        // `date -u -d 2024-05-01T12:00:00Z +%s` = 1714564800
        assert_eq!(ms("2024-05-01T12:00:00Z"), 1_714_564_800_000);
        assert_eq!(ms("2024-05-01T14:00:00+02:00"), 1_714_564_800_000);
        assert_eq!(ms("2024-05-01T07:30:00-04:30"), 1_714_564_800_000);
        assert_eq!(ms("2024-05-01t12:00:00z"), 1_714_564_800_000);
        assert_eq!(ms("2024-05-01 12:00:00Z"), 1_714_564_800_000);
        // `date -u -d 2100-03-01 +%s` = 4107542400 (2100 is not a leap year)
        assert_eq!(ms("2100-03-01T00:00:00Z"), 4_107_542_400_000);
    }

    #[test]
    fn fractions_are_truncated_to_milliseconds() {
        assert_eq!(ms("1970-01-01T00:00:00.5Z"), 500);
        assert_eq!(ms("1970-01-01T00:00:00.25Z"), 250);
        assert_eq!(ms("1970-01-01T00:00:00.123Z"), 123);
        assert_eq!(ms("1970-01-01T00:00:00.123999999Z"), 123);
        assert_eq!(ms("1970-01-01T00:00:01.001+00:00"), 1_001);
    }

    #[test]
    fn consecutive_days_are_86400_seconds_apart() {
        let mut previous = ms("1899-12-31T00:00:00Z");
        for year in 1900..=2401 {
            for month in 1..=12 {
                for day in 1..=days_in_month(year, month) {
                    let now = ms(&format!("{year:04}-{month:02}-{day:02}T00:00:00Z"));
                    assert_eq!(now - previous, 86_400_000, "{year}-{month}-{day}");
                    previous = now;
                }
            }
        }
    }

    #[test]
    fn malformed_inputs_are_rejected_with_an_example() {
        for bad in [
            "",
            "2024-05-01",
            "2024-05-01T12:00:00",
            "2024-05-01T12:00Z",
            "2024-13-01T00:00:00Z",
            "2024-02-30T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-05-01T24:00:00Z",
            "2024-05-01T23:60:00Z",
            "2024-05-01T23:59:60Z",
            "2024-05-01T12:00:00.Z",
            "2024-05-01T12:00:00+0200",
            "2024-05-01T12:00:00+24:00",
            "2024-05-01X12:00:00Z",
            "+024-05-01T12:00:00Z",
            "2024-05-01T12:00:00Zjunk",
            "1714564800000",
            "2024-05-01T12:00:00\u{e9}",
        ] {
            let err = parse_rfc3339_millis(bad).expect_err(bad);
            assert!(err.to_string().contains("2024-05-01T12:00:00Z"), "{err}");
        }
    }
}
