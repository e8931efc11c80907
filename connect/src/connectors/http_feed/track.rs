//! `track`: which posts a filter keeps, after the streaming API's `filter(track=...)`.
//!
//! The value is a comma-separated list of phrases; a post matches when any phrase matches.
//! A phrase is one or more space-separated terms and matches when every term does. A term
//! matches a word of the text case-insensitively, where words are split at anything that is
//! not a letter, a digit, `_`, `#` or `@`: `rust` matches `Rust`, `#rust` and `@rust`, but
//! not `rusty`; `#rust` matches only the hashtag `#rust`. One function serves the simulator's
//! server-side filter and the connector's own, so both keep the same posts.

/// A parsed `track` filter; empty keeps every post.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Track {
    phrases: Vec<Vec<String>>,
}

impl Track {
    /// Parses a `track` value (`"#rust, kafka streams"`).
    pub fn parse(value: &str) -> Self {
        let phrases = value
            .split(',')
            .map(|phrase| {
                phrase
                    .split_whitespace()
                    .map(str::to_lowercase)
                    .collect::<Vec<_>>()
            })
            .filter(|terms| !terms.is_empty())
            .collect();
        Self { phrases }
    }

    /// Whether no phrase is set (every post is kept).
    pub fn is_empty(&self) -> bool {
        self.phrases.is_empty()
    }

    /// Whether `text` matches any phrase (always, for an empty filter).
    pub fn matches(&self, text: &str) -> bool {
        if self.phrases.is_empty() {
            return true;
        }
        let words: Vec<String> = words(text).map(str::to_lowercase).collect();
        self.phrases.iter().any(|terms| {
            terms
                .iter()
                .all(|term| words.iter().any(|word| term_matches(term, word)))
        })
    }
}

fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '#' || c == '@'))
        .filter(|w| !w.is_empty())
}

fn term_matches(term: &str, word: &str) -> bool {
    if term.starts_with('#') || term.starts_with('@') {
        return term == word;
    }
    word.trim_start_matches(['#', '@']) == term
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_match_whole_words_hashtags_and_mentions() {
        let track = Track::parse("rust");
        assert!(track.matches("Learning Rust today"));
        assert!(track.matches("so #Rust."));
        assert!(track.matches("ask @rust"));
        assert!(!track.matches("rusty nails"));
        let hashtag = Track::parse("#rust");
        assert!(hashtag.matches("I like #rust!"));
        assert!(!hashtag.matches("I like rust"));
    }

    #[test]
    fn phrases_need_every_term_and_any_phrase_will_do() {
        let track = Track::parse("kafka streams, #fjord");
        assert!(track.matches("streams over Kafka"));
        assert!(!track.matches("just kafka"));
        assert!(track.matches("try #fjord"));
        assert!(Track::parse(" , ").is_empty());
        assert!(Track::parse("").matches("anything"));
    }
}
