//! Java's `SimpleDateFormat` patterns (what TimestampConverter's `format` and
//! TimestampRouter's `timestamp.format` take) translated to jiff's strftime directives, in
//! UTC as Kafka's transforms use them.
//!
//! Supported letters: `y` (`yy`, `yyyy`), `M` (`M`, `MM`, `MMM`, `MMMM`), `d`, `D`, `H`,
//! `h`, `m`, `s`, `S` (fraction digits, `SSS` = milliseconds), `a`, `E`, `Z`, `X`, `z`;
//! `'quoted text'` and `''` for a quote. Other letters are a config error.

use jiff::fmt::strtime::{self, BrokenDownTime};
use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::error::{ConnectError, Result};

/// A `SimpleDateFormat` pattern and its jiff translation.
#[derive(Debug, Clone)]
pub(crate) struct JavaDateFormat {
    pattern: String,
    directives: String,
}

fn directive(letter: char, count: usize) -> std::result::Result<String, String> {
    Ok(match (letter, count) {
        ('y', 2) => "%y".to_owned(),
        ('y', _) => "%Y".to_owned(),
        ('M', 1) => "%-m".to_owned(),
        ('M', 2) => "%m".to_owned(),
        ('M', 3) => "%b".to_owned(),
        ('M', _) => "%B".to_owned(),
        ('d', 1) => "%-d".to_owned(),
        ('d', _) => "%d".to_owned(),
        ('D', _) => "%j".to_owned(),
        ('H', 1) => "%-H".to_owned(),
        ('H', _) => "%H".to_owned(),
        ('h', 1) => "%-I".to_owned(),
        ('h', _) => "%I".to_owned(),
        ('m', 1) => "%-M".to_owned(),
        ('m', _) => "%M".to_owned(),
        ('s', 1) => "%-S".to_owned(),
        ('s', _) => "%S".to_owned(),
        ('S', n) if n <= 9 => format!("%{n}f"),
        ('a', _) => "%p".to_owned(),
        ('E', n) if n <= 3 => "%a".to_owned(),
        ('E', _) => "%A".to_owned(),
        ('Z', _) => "%z".to_owned(),
        ('X', n) if n <= 2 => "%z".to_owned(),
        ('X', _) => "%:z".to_owned(),
        ('z', _) => "%Z".to_owned(),
        (other, _) => {
            return Err(format!(
                "the pattern letter '{other}' is not supported (supported: y M d D H h m s S a E Z X z)"
            ))
        }
    })
}

/// Checks a pattern (for config validators).
pub(crate) fn check_pattern(pattern: &str) -> std::result::Result<(), String> {
    JavaDateFormat::new(pattern)
        .map(|_| ())
        .map_err(|e| match e {
            ConnectError::Config(m) => m,
            other => other.to_string(),
        })
}

impl JavaDateFormat {
    /// Translates `pattern`.
    ///
    /// # Errors
    /// [`ConnectError::Config`] for an unsupported letter or an unclosed quote.
    pub(crate) fn new(pattern: &str) -> Result<Self> {
        let bad = |m: String| ConnectError::Config(format!("Invalid date format '{pattern}': {m}"));
        let chars: Vec<char> = pattern.chars().collect();
        let mut directives = String::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '\'' {
                if chars.get(i + 1) == Some(&'\'') {
                    directives.push('\'');
                    i += 2;
                    continue;
                }
                let mut j = i + 1;
                loop {
                    match chars.get(j) {
                        None => return Err(bad("unterminated quote".to_owned())),
                        Some('\'') if chars.get(j + 1) == Some(&'\'') => {
                            directives.push('\'');
                            j += 2;
                        }
                        Some('\'') => break,
                        Some('%') => {
                            directives.push_str("%%");
                            j += 1;
                        }
                        Some(&other) => {
                            directives.push(other);
                            j += 1;
                        }
                    }
                }
                i = j + 1;
            } else if c.is_ascii_alphabetic() {
                let mut count = 1;
                while chars.get(i + count) == Some(&c) {
                    count += 1;
                }
                directives.push_str(&directive(c, count).map_err(bad)?);
                i += count;
            } else {
                if c == '%' {
                    directives.push('%');
                }
                directives.push(c);
                i += 1;
            }
        }
        Ok(Self {
            pattern: pattern.to_owned(),
            directives,
        })
    }

    /// Formats milliseconds since the epoch, in UTC.
    ///
    /// # Errors
    /// [`ConnectError::Data`] for a timestamp out of range.
    pub(crate) fn format(&self, millis: i64) -> Result<String> {
        let timestamp = Timestamp::from_millisecond(millis)
            .map_err(|e| ConnectError::Data(format!("timestamp {millis} out of range: {e}")))?;
        let zoned = timestamp.to_zoned_datetime(TimeZone::UTC);
        strtime::format(self.directives.as_str(), &zoned).map_err(|e| {
            ConnectError::Data(format!(
                "cannot format {millis} with '{}': {e}",
                self.pattern
            ))
        })
    }

    /// Parses text into milliseconds since the epoch (UTC unless the text has an offset;
    /// missing date parts default to 1970-01-01, missing time parts to midnight, as
    /// `SimpleDateFormat` does).
    ///
    /// # Errors
    /// [`ConnectError::Data`] when the text does not follow the pattern.
    pub(crate) fn parse(&self, text: &str) -> Result<i64> {
        let bad = |e: jiff::Error| {
            ConnectError::Data(format!(
                "Could not parse timestamp: value ({text}) does not match pattern ({}): {e}",
                self.pattern
            ))
        };
        let mut tm: BrokenDownTime = strtime::parse(self.directives.as_str(), text).map_err(bad)?;
        if tm.day_of_year().is_none() {
            if tm.year().is_none() {
                tm.set_year(Some(1970)).map_err(bad)?;
            }
            if tm.month().is_none() {
                tm.set_month(Some(1)).map_err(bad)?;
            }
            if tm.day().is_none() {
                tm.set_day(Some(1)).map_err(bad)?;
            }
        } else if tm.year().is_none() {
            tm.set_year(Some(1970)).map_err(bad)?;
        }
        let datetime = tm.to_datetime().map_err(bad)?;
        let offset = tm.offset().unwrap_or(jiff::tz::Offset::UTC);
        let timestamp = datetime
            .to_zoned_datetime(offset.to_time_zone())
            .map_err(bad)?
            .timestamp();
        Ok(timestamp.as_millisecond())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_common_patterns_in_utc() {
        let millis = 1_700_000_123_456; // 2023-11-14T22:15:23.456Z
        let f = |p: &str| JavaDateFormat::new(p).unwrap().format(millis).unwrap();
        assert_eq!(f("yyyyMMdd"), "20231114");
        assert_eq!(
            f("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"),
            "2023-11-14T22:15:23.456Z"
        );
        assert_eq!(f("yyyy-MM-dd HH:mm:ss"), "2023-11-14 22:15:23");
        assert_eq!(f("dd/MM/yy 'at' h a"), "14/11/23 at 10 PM");
        assert_eq!(f("'It''s' yyyy"), "It's 2023");
        assert_eq!(f("EEE, d MMM yyyy"), "Tue, 14 Nov 2023");
        assert_eq!(f("100%"), "100%");
    }

    #[test]
    fn parses_back_and_defaults_missing_parts() {
        let p = JavaDateFormat::new("yyyy-MM-dd'T'HH:mm:ss.SSS").unwrap();
        assert_eq!(
            p.parse("2023-11-14T22:15:23.456").unwrap(),
            1_700_000_123_456
        );
        let d = JavaDateFormat::new("yyyy-MM-dd").unwrap();
        assert_eq!(d.parse("1970-01-02").unwrap(), 86_400_000);
        let t = JavaDateFormat::new("HH:mm:ss").unwrap();
        assert_eq!(t.parse("01:00:01").unwrap(), 3_601_000);
        let z = JavaDateFormat::new("yyyy-MM-dd HH:mm Z").unwrap();
        assert_eq!(z.parse("1970-01-01 02:00 +0100").unwrap(), 3_600_000);
        assert!(d.parse("not a date").is_err());
        assert!(JavaDateFormat::new("yyyy-MM-dd Q").is_err());
        assert!(JavaDateFormat::new("'open").is_err());
    }

    proptest::proptest! {
        #[test]
        fn iso_text_parses_back_to_the_same_instant(millis in -62_135_596_800_000i64..253_402_300_799_999i64) {
            let f = JavaDateFormat::new("yyyy-MM-dd'T'HH:mm:ss.SSS").unwrap();
            let text = f.format(millis).unwrap();
            proptest::prop_assert_eq!(f.parse(&text).unwrap(), millis, "{}", text);
        }

        #[test]
        fn any_pattern_or_text_is_an_answer_not_a_panic(pattern in ".{0,24}", text in ".{0,24}") {
            if let Ok(f) = JavaDateFormat::new(&pattern) {
                let _ = f.format(0);
                let _ = f.parse(&text);
            }
        }
    }
}
