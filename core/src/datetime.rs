//! Date-times as Kafka timestamps (milliseconds since the Unix epoch), for flags such as
//! `fjord groups reset-offsets --to-datetime`.
//!
//! Parsing is `jiff`'s: the one date-time crate of the workspace, which Streams (window
//! bounds), Connect (timestamp converters) and the registry use too. An instant needs its
//! offset (`2024-05-01T12:00:00Z`, `2024-05-01T14:00:00.250+02:00`): a time without one names
//! no instant, and guessing the machine's zone would move offsets by hours.

use crate::error::{Error, Result};

/// Parses an RFC 3339 date-time (or the ISO 8601 forms `jiff` reads as an instant: seconds
/// optional, `±HHMM` offsets) into milliseconds since the Unix epoch.
///
/// The date and time are separated by `T` (or `t`, or a space); the offset is `Z` or
/// `±HH:MM` (up to ±25:59, as `jiff` allows); fractional seconds are optional and truncated
/// to milliseconds.
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
    input
        .trim()
        .parse::<jiff::Timestamp>()
        .map(|instant| instant.as_millisecond())
        .map_err(|_| Error::InvalidDateTime {
            input: input.to_owned(),
        })
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
        assert_eq!(ms(" 2024-05-01T12:00:00Z\n"), 1_714_564_800_000);
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
    fn malformed_inputs_are_rejected_with_an_example() {
        for bad in [
            "",
            "2024-05-01",
            "2024-05-01T12:00:00",
            "2024-13-01T00:00:00Z",
            "2024-02-30T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-05-01T24:00:00Z",
            "2024-05-01T23:60:00Z",
            "2024-05-01T12:00:00.Z",
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
