//! Java `.properties` files: the format Kafka, Kafka Connect and Kafka
//! Streams use for worker, connector and client configs.
//!
//! Text flows through two stages: natural lines are joined into logical
//! lines (comments and blank lines dropped, trailing-backslash continuations
//! joined), then each logical line is split into key and value and its
//! escapes decoded. The result is a [`Properties`]: ordered by first
//! appearance, later duplicates overwriting earlier values (as
//! `java.util.Properties::load` does).
//!
//! One deliberate difference from `java.util.Properties`: unescaped trailing
//! whitespace of a value is trimmed (`a = b  ` gives `b`), which is what
//! Kafka's `ConfigDef` does to the value afterwards anyway. Write `\ ` to keep
//! a trailing space.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use crate::error::{Error, Result};

/// An ordered set of `key = value` entries parsed from a `.properties` file.
///
/// ```
/// use fjord_core::Properties;
///
/// let props = Properties::parse_str(
///     "# a worker config\nbootstrap.servers = localhost:9092\nname: sales-sink\n",
/// )?;
/// assert_eq!(props.get("bootstrap.servers"), Some("localhost:9092"));
/// assert_eq!(props.iter().count(), 2);
/// # Ok::<(), fjord_core::Error>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Properties {
    entries: Vec<(String, String)>,
    index: HashMap<String, usize>,
}

impl Properties {
    /// An empty set of properties.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses properties text held in memory; errors name the origin
    /// `<string>`.
    ///
    /// # Errors
    /// [`Error::PropertiesSyntax`] for a malformed `\uXXXX` escape or an
    /// unpaired UTF-16 surrogate.
    pub fn parse_str(text: &str) -> Result<Self> {
        Self::parse_named(text, "<string>")
    }

    /// Parses properties text, naming `origin` (usually a file name) in
    /// errors.
    ///
    /// # Errors
    /// As [`Properties::parse_str`].
    pub fn parse_named(text: &str, origin: &str) -> Result<Self> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut props = Properties::new();
        for logical in LogicalLines::new(text) {
            let syntax_error = |message: String| Error::PropertiesSyntax {
                origin: origin.to_owned(),
                line: logical.line,
                message,
            };
            let (key, value) = split_entry(&logical.text).map_err(syntax_error)?;
            props.insert(key, value);
        }
        Ok(props)
    }

    /// Reads and parses a UTF-8 `.properties` file.
    ///
    /// # Errors
    /// [`Error::ReadProperties`] if the file cannot be read;
    /// [`Error::PropertiesSyntax`] (naming the file and line) if it is not
    /// UTF-8 or has a malformed escape.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|cause| Error::ReadProperties {
            path: path.to_owned(),
            cause,
        })?;
        let origin = path.display().to_string();
        let text = String::from_utf8(bytes).map_err(|e| {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            Error::PropertiesSyntax {
                origin: origin.clone(),
                line: 1 + valid.iter().filter(|&&b| b == b'\n').count(),
                message: "the file is not valid UTF-8; save it as UTF-8 or write the \
                          character as a \\uXXXX escape"
                    .to_owned(),
            }
        })?;
        Self::parse_named(&text, &origin)
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.index.get(key).map(|&i| self.entries[i].1.as_str())
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.index.contains_key(key)
    }

    /// Sets `key` to `value`, keeping the key's original position if it was
    /// already present; returns the previous value.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) -> Option<String> {
        let (key, value) = (key.into(), value.into());
        match self.index.get(&key) {
            Some(&i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            None => {
                self.index.insert(key.clone(), self.entries.len());
                self.entries.push((key, value));
                None
            }
        }
    }

    /// The entries in order of first appearance.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl fmt::Debug for Properties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl FromStr for Properties {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse_str(s)
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Properties {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut props = Properties::new();
        for (k, v) in iter {
            props.insert(k, v);
        }
        props
    }
}

impl<K: Into<String>, V: Into<String>> Extend<(K, V)> for Properties {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl IntoIterator for Properties {
    type Item = (String, String);
    type IntoIter = std::vec::IntoIter<(String, String)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

/// The whitespace `.properties` files recognise: space, tab and form feed.
fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{c}')
}

/// One logical line: continuations joined, leading whitespace removed, and
/// the 1-based number of the natural line it starts on.
struct LogicalLine {
    line: usize,
    text: String,
}

/// Iterator over the logical lines of a text, skipping blanks and comments.
struct LogicalLines<'a> {
    natural: std::iter::Peekable<NaturalLines<'a>>,
}

impl<'a> LogicalLines<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            natural: NaturalLines {
                rest: text,
                line: 0,
            }
            .peekable(),
        }
    }
}

impl Iterator for LogicalLines<'_> {
    type Item = LogicalLine;

    fn next(&mut self) -> Option<LogicalLine> {
        loop {
            let (line, raw) = self.natural.next()?;
            let first = raw.trim_start_matches(is_ws);
            if first.is_empty() || first.starts_with('#') || first.starts_with('!') {
                // A comment never continues, even if it ends in a backslash.
                continue;
            }
            let mut text = String::new();
            let mut current = first;
            while ends_in_continuation(current) {
                text.push_str(&current[..current.len() - 1]);
                match self.natural.next() {
                    // Leading whitespace of a continuation line is not part of the value.
                    Some((_, next)) => current = next.trim_start_matches(is_ws),
                    None => {
                        current = "";
                        break;
                    }
                }
            }
            text.push_str(current);
            return Some(LogicalLine { line, text });
        }
    }
}

/// Whether the line ends in an odd number of backslashes.
fn ends_in_continuation(line: &str) -> bool {
    line.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 1
}

/// Natural lines terminated by `\n`, `\r` or `\r\n`, numbered from 1.
struct NaturalLines<'a> {
    rest: &'a str,
    line: usize,
}

impl<'a> Iterator for NaturalLines<'a> {
    type Item = (usize, &'a str);

    fn next(&mut self) -> Option<(usize, &'a str)> {
        if self.rest.is_empty() {
            return None;
        }
        self.line += 1;
        let (line, rest) = match self.rest.find(['\n', '\r']) {
            Some(i) => {
                let terminator = if self.rest[i..].starts_with("\r\n") {
                    2
                } else {
                    1
                };
                (&self.rest[..i], &self.rest[i + terminator..])
            }
            None => (self.rest, ""),
        };
        self.rest = rest;
        Some((self.line, line))
    }
}

/// Splits a logical line into its decoded key and value, following
/// `java.util.Properties::load`: the key ends at the first unescaped `=`,
/// `:` or whitespace; whitespace, then at most one `=` or `:`, then more
/// whitespace separate it from the value.
fn split_entry(line: &str) -> std::result::Result<(String, String), String> {
    let chars: Vec<char> = line.chars().collect();
    let mut key_len = 0;
    let mut value_start = chars.len();
    let mut has_separator = false;
    let mut escaped = false;
    while key_len < chars.len() {
        let c = chars[key_len];
        if !escaped && (c == '=' || c == ':') {
            value_start = key_len + 1;
            has_separator = true;
            break;
        }
        if !escaped && is_ws(c) {
            value_start = key_len + 1;
            break;
        }
        escaped = c == '\\' && !escaped;
        key_len += 1;
    }
    while value_start < chars.len() {
        let c = chars[value_start];
        if !is_ws(c) {
            if !has_separator && (c == '=' || c == ':') {
                has_separator = true;
            } else {
                break;
            }
        }
        value_start += 1;
    }
    let key = unescape(&chars[..key_len])?;
    let value = unescape(&chars[value_start..])?;
    Ok((key, value))
}

/// Decodes `\t \n \r \f \uXXXX` escapes (other escaped characters stand for
/// themselves) and trims unescaped trailing whitespace.
fn unescape(chars: &[char]) -> std::result::Result<String, String> {
    let mut out = String::with_capacity(chars.len());
    // Length of `out` up to the last character that must survive trimming.
    let mut keep = 0;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if c != '\\' {
            out.push(c);
            if !is_ws(c) {
                keep = out.len();
            }
            continue;
        }
        let Some(&e) = chars.get(i) else {
            // A lone trailing backslash was a continuation marker; nothing follows.
            break;
        };
        i += 1;
        match e {
            't' => out.push('\t'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            'f' => out.push('\u{c}'),
            'u' => {
                let unit = hex4(chars, i)?;
                i += 4;
                let decoded = if (0xD800..0xDC00).contains(&unit) {
                    let low = (chars.get(i) == Some(&'\\') && chars.get(i + 1) == Some(&'u'))
                        .then(|| hex4(chars, i + 2))
                        .transpose()?
                        .filter(|low| (0xDC00..0xE000).contains(low))
                        .ok_or_else(|| unpaired_surrogate(unit))?;
                    i += 6;
                    char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                } else {
                    char::from_u32(unit)
                };
                out.push(decoded.ok_or_else(|| unpaired_surrogate(unit))?);
            }
            other => out.push(other),
        }
        keep = out.len();
    }
    out.truncate(keep);
    Ok(out)
}

/// Reads the 4 hex digits of a `\uXXXX` escape starting at `at`.
fn hex4(chars: &[char], at: usize) -> std::result::Result<u32, String> {
    let digits = chars
        .get(at..at + 4)
        .unwrap_or(&chars[at.min(chars.len())..]);
    let text: String = digits.iter().collect();
    if digits.len() == 4 && digits.iter().all(char::is_ascii_hexdigit) {
        u32::from_str_radix(&text, 16).map_err(|e| e.to_string())
    } else {
        Err(format!(
            "malformed \\uXXXX escape '\\u{text}': write exactly four hex digits, \
             or '\\\\u' for a literal backslash-u"
        ))
    }
}

fn unpaired_surrogate(unit: u32) -> String {
    format!(
        "unpaired UTF-16 surrogate \\u{unit:04X}: write the character itself, or both halves \
         of its surrogate pair"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<(String, String)> {
        Properties::parse_str(text)
            .unwrap_or_else(|e| panic!("parse failed: {e}"))
            .into_iter()
            .collect()
    }

    fn one(text: &str) -> (String, String) {
        let mut entries = parse(text);
        assert_eq!(entries.len(), 1, "{entries:?}");
        entries.remove(0)
    }

    fn kv(k: &str, v: &str) -> (String, String) {
        (k.to_owned(), v.to_owned())
    }

    #[test]
    fn separators_equals_colon_and_whitespace() {
        assert_eq!(one("a=b"), kv("a", "b"));
        assert_eq!(one("a: b"), kv("a", "b"));
        assert_eq!(one("a b"), kv("a", "b"));
        assert_eq!(one("a \t = \t b"), kv("a", "b"));
        assert_eq!(one("a\u{c}b"), kv("a", "b"));
        assert_eq!(
            one("url=http://host:80/x=y"),
            kv("url", "http://host:80/x=y")
        );
        // Only one separator is consumed; a second one belongs to the value.
        assert_eq!(one("key = = value"), kv("key", "= value"));
        assert_eq!(one("key::v"), kv("key", ":v"));
    }

    #[test]
    fn keys_without_values() {
        assert_eq!(one("a"), kv("a", ""));
        assert_eq!(one("a="), kv("a", ""));
        assert_eq!(one("a =   "), kv("a", ""));
        assert_eq!(one("=v"), kv("", "v"));
    }

    #[test]
    fn comments_and_blank_lines() {
        let text =
            "# comment\n! bang comment\n   # indented comment\n\n  \t\nk=v # not a comment\n";
        assert_eq!(parse(text), vec![kv("k", "v # not a comment")]);
    }

    #[test]
    fn whitespace_is_trimmed_but_escaped_whitespace_kept() {
        assert_eq!(one("   key = value   "), kv("key", "value"));
        assert_eq!(one("key = value\\ "), kv("key", "value "));
        assert_eq!(one("key = \\ value"), kv("key", " value"));
        assert_eq!(one("key = a b\tc"), kv("key", "a b\tc"));
    }

    #[test]
    fn line_continuations() {
        assert_eq!(one("k = a,\\\n    b,\\\n\tc"), kv("k", "a,b,c"));
        assert_eq!(one("k = a\\\r\n  b"), kv("k", "ab"));
        assert_eq!(one("k = a\\\r  b"), kv("k", "ab"));
        // The continued line is not a comment even if it starts with '#'.
        assert_eq!(one("k = a\\\n  #b"), kv("k", "a#b"));
        // A key can be continued too.
        assert_eq!(one("ke\\\n  y = v"), kv("key", "v"));
        // A backslash at end of input continues into nothing.
        assert_eq!(one("k = a\\"), kv("k", "a"));
        // A blank continuation line ends the logical line.
        assert_eq!(parse("k = a\\\n\nx=y"), vec![kv("k", "a"), kv("x", "y")]);
    }

    #[test]
    fn even_backslashes_do_not_continue() {
        assert_eq!(
            parse("k = a\\\\\nx = y"),
            vec![kv("k", "a\\"), kv("x", "y")]
        );
    }

    #[test]
    fn comment_with_trailing_backslash_does_not_continue() {
        assert_eq!(parse("# comment \\\nk=v"), vec![kv("k", "v")]);
    }

    #[test]
    fn escapes() {
        assert_eq!(one(r"k = a\tb\nc\rd\fe"), kv("k", "a\tb\nc\rd\u{c}e"));
        assert_eq!(one(r"k = C:\\dir\\file"), kv("k", r"C:\dir\file"));
        assert_eq!(one(r"k = \u00e9t\u00C9"), kv("k", "étÉ"));
        assert_eq!(one(r"k = \q\#\!"), kv("k", "q#!"));
        assert_eq!(one(r"k = \uD83D\uDE00"), kv("k", "😀"));
        assert_eq!(one("k = déjà vu"), kv("k", "déjà vu"));
    }

    #[test]
    fn escaped_separators_in_keys() {
        assert_eq!(one(r"a\=b = c"), kv("a=b", "c"));
        assert_eq!(one(r"a\:b:c"), kv("a:b", "c"));
        assert_eq!(one(r"a\ b c"), kv("a b", "c"));
        assert_eq!(one(r"a\\=b"), kv(r"a\", "b"));
    }

    #[test]
    fn malformed_unicode_escape_names_line() {
        let err = Properties::parse_named("a=1\n\nb = x\\u12G4\n", "worker.properties")
            .expect_err("must fail");
        let msg = err.to_string();
        assert!(msg.starts_with("worker.properties:3: malformed"), "{msg}");
        let err = Properties::parse_str("a=\\u12").expect_err("must fail");
        assert!(
            err.to_string().starts_with("<string>:1: malformed"),
            "{err}"
        );
    }

    #[test]
    fn unpaired_surrogates_are_rejected() {
        for text in [r"k=\uD83D", r"k=\uD83Dx", r"k=\uDE00", r"k=\uD83D\u0041"] {
            let err = Properties::parse_str(text).expect_err(text);
            assert!(err.to_string().contains("unpaired"), "{text}: {err}");
        }
    }

    #[test]
    fn error_line_is_where_logical_line_starts() {
        let err = Properties::parse_str("a=1\nb = x\\\n  \\u00\nc=3").expect_err("must fail");
        assert!(err.to_string().starts_with("<string>:2:"), "{err}");
    }

    #[test]
    fn order_is_kept_and_later_duplicates_win() {
        let props = Properties::parse_str("b=1\na=2\nb=3\n").expect("parses");
        assert_eq!(props.get("b"), Some("3"));
        assert_eq!(
            props.iter().collect::<Vec<_>>(),
            vec![("b", "3"), ("a", "2")]
        );
        assert_eq!(props.len(), 2);
        assert!(props.contains_key("a"));
        assert_eq!(props.get("missing"), None);
    }

    #[test]
    fn crlf_cr_and_bom() {
        let props = Properties::parse_str("\u{feff}a=1\r\nb=2\rc=3").expect("parses");
        assert_eq!(
            props.iter().collect::<Vec<_>>(),
            vec![("a", "1"), ("b", "2"), ("c", "3")]
        );
    }

    #[test]
    fn from_iterator_and_from_str() {
        let a: Properties = [("x", "1"), ("y", "2")].into_iter().collect();
        let b: Properties = "x=1\ny=2".parse().expect("parses");
        assert_eq!(a, b);
        assert_eq!(format!("{a:?}"), r#"{"x": "1", "y": "2"}"#);
    }

    #[test]
    fn from_path_reads_a_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("connector.properties");
        std::fs::write(&path, "name=sink\ntopics = sales, prices\n").expect("write");
        let props = Properties::from_path(&path).expect("parses");
        assert_eq!(props.get("name"), Some("sink"));
        assert_eq!(props.get("topics"), Some("sales, prices"));
    }

    #[test]
    fn from_path_errors_name_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("missing.properties");
        let err = Properties::from_path(&missing).expect_err("must fail");
        assert!(matches!(err, Error::ReadProperties { .. }));
        assert!(err.to_string().contains("missing.properties"), "{err}");

        let latin1 = dir.path().join("latin1.properties");
        std::fs::write(&latin1, b"a=1\nb=caf\xe9\n").expect("write");
        let err = Properties::from_path(&latin1).expect_err("must fail");
        let msg = err.to_string();
        assert!(msg.contains("latin1.properties:2:"), "{msg}");
        assert!(msg.contains("UTF-8"), "{msg}");
    }
}
