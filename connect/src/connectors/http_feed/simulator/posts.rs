//! Tweet-like posts, each a pure function of the seed and its index, so any post can be
//! computed again (a poll after `since_id`, a test's expectation) without keeping a history.
//!
//! Post `i` has id [`FIRST_ID`]` + i` and is created [`SPACING_MS`] x `i` (plus up to one
//! spacing of jitter) after [`START_MS`], so ids and times both grow. Fields follow Twitter's
//! v1.1 status: `id`, `id_str`, `created_at` (`Tue Dec 01 09:00:00 +0000 2026`),
//! `timestamp_ms`, `text` with #hashtags and @mentions, `lang`, `user {id, id_str,
//! screen_name, name, followers_count}`, `in_reply_to_status_id` / `_user_id` /
//! `_screen_name`, `retweeted_status {id, id_str, user}` on retweets, `retweet_count`,
//! `favorite_count`, and `entities {hashtags [{text, indices}], user_mentions [...]}`.

use serde::{Deserialize, Serialize};

use crate::connectors::http_feed::rng::SplitMix64;

/// The id of post 0.
pub const FIRST_ID: u64 = 1_000_000_000;
/// 2026-12-01T09:00:00Z: post 0's time.
pub const START_MS: i64 = 1_796_115_600_000;
/// The mean gap between posts' times.
pub const SPACING_MS: i64 = 250;

/// The hashtags posts use, most popular first (a post picks them with a skew towards the
/// front, so some trend).
pub const HASHTAGS: [&str; 12] = [
    "rust",
    "kafka",
    "streaming",
    "fjord",
    "data",
    "opensource",
    "devops",
    "cloud",
    "ai",
    "tokio",
    "linux",
    "weekend",
];
const WORDS: [&str; 32] = [
    "shipping",
    "today",
    "new",
    "release",
    "of",
    "the",
    "stream",
    "processor",
    "loving",
    "this",
    "why",
    "is",
    "my",
    "consumer",
    "lagging",
    "again",
    "just",
    "benchmarked",
    "a",
    "broker",
    "on",
    "two",
    "cores",
    "great",
    "talk",
    "about",
    "partitions",
    "and",
    "exactly",
    "once",
    "coffee",
    "first",
];
const SYLLABLES: [&str; 16] = [
    "ka", "fj", "or", "da", "ta", "ru", "st", "lo", "mi", "ne", "zu", "ba", "ko", "ri", "sa", "te",
];
const LANGS: [&str; 8] = ["en", "en", "en", "en", "de", "fr", "es", "ja"];
/// How many distinct users post.
pub const USERS: u64 = 500;

/// A post's author.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The user's id.
    pub id: u64,
    /// The id as a string.
    pub id_str: String,
    /// The handle, without `@`.
    pub screen_name: String,
    /// The display name.
    pub name: String,
    /// Followers.
    pub followers_count: u64,
}

/// A hashtag in a post's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hashtag {
    /// The tag, without `#`.
    pub text: String,
    /// Its start and end (characters) in the text.
    pub indices: [usize; 2],
}

/// A mention in a post's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mention {
    /// The handle, without `@`.
    pub screen_name: String,
    /// The user's id.
    pub id: u64,
    /// Its start and end (characters) in the text.
    pub indices: [usize; 2],
}

/// A post's entities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entities {
    /// Hashtags, in text order, each tag once per post.
    pub hashtags: Vec<Hashtag>,
    /// Mentions, in text order.
    pub user_mentions: Vec<Mention>,
}

/// The post a retweet repeats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retweeted {
    /// Its id.
    pub id: u64,
    /// Its id as a string.
    pub id_str: String,
    /// Its author.
    pub user: User,
}

/// A tweet-like post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    /// The id; grows with the post's index.
    pub id: u64,
    /// The id as a string.
    pub id_str: String,
    /// Twitter's v1.1 time text (second precision).
    pub created_at: String,
    /// The time in ms since the epoch, as a string (as Twitter's).
    pub timestamp_ms: String,
    /// The text.
    pub text: String,
    /// The language code.
    pub lang: String,
    /// The author.
    pub user: User,
    /// The post this replies to.
    pub in_reply_to_status_id: Option<u64>,
    /// That post's author's id.
    pub in_reply_to_user_id: Option<u64>,
    /// That post's author's handle.
    pub in_reply_to_screen_name: Option<String>,
    /// The post this repeats, for a retweet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retweeted_status: Option<Retweeted>,
    /// Retweets.
    pub retweet_count: u64,
    /// Likes.
    pub favorite_count: u64,
    /// Hashtags and mentions.
    pub entities: Entities,
}

/// The posts of one seed.
#[derive(Debug, Clone, Copy)]
pub struct PostGenerator {
    seed: u64,
}

impl PostGenerator {
    /// The posts of `seed`.
    pub fn new(seed: u64) -> Self {
        Self { seed }
    }

    fn rng(&self, index: u64, stream: u64) -> SplitMix64 {
        let mut rng = SplitMix64::new(
            self.seed
                ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15)
                ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03),
        );
        rng.next_u64();
        rng
    }

    /// The index of the post with this id, if it is one of ours.
    pub fn index_of(id: u64) -> Option<u64> {
        id.checked_sub(FIRST_ID)
    }

    /// The id of post `index`.
    pub fn id_of(index: u64) -> u64 {
        FIRST_ID + index
    }

    /// The time (ms) of post `index`.
    pub fn time_of(&self, index: u64) -> i64 {
        let jitter = self.rng(index, 1).below(SPACING_MS as u64) as i64;
        START_MS + index as i64 * SPACING_MS + jitter
    }

    /// User `n` of this seed.
    pub fn user(&self, n: u64) -> User {
        let mut rng = self.rng(n, 2);
        let mut handle = String::new();
        for _ in 0..2 + rng.below(3) {
            let syllable: &&str = rng.pick(&SYLLABLES);
            handle.push_str(syllable);
        }
        handle.push('_');
        handle.push_str(&(n % 100).to_string());
        let followers =
            rng.below(1000) * (1 + rng.below(50)) * if n.is_multiple_of(37) { 1000 } else { 1 };
        User {
            id: 10_000 + n,
            id_str: (10_000 + n).to_string(),
            name: handle.replace('_', " "),
            screen_name: handle,
            followers_count: followers,
        }
    }

    fn author_of(&self, index: u64) -> u64 {
        // Skewed: low user numbers post more.
        let mut rng = self.rng(index, 3);
        let bound = 1 + rng.below(USERS);
        rng.below(bound)
    }

    /// Post `index`.
    pub fn post(&self, index: u64) -> Post {
        let mut rng = self.rng(index, 0);
        let id = Self::id_of(index);
        let ts = self.time_of(index);
        let user = self.user(self.author_of(index));
        let mut parts: Vec<Part> = (0..3 + rng.below(8))
            .map(|_| {
                let word: &&'static str = rng.pick(&WORDS);
                Part::Word(word)
            })
            .collect();
        let mut tags: Vec<&str> = Vec::new();
        for _ in 0..rng.below(4) {
            let bound = 1 + rng.below(HASHTAGS.len() as u64);
            let tag = HASHTAGS[rng.below(bound) as usize];
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        for tag in &tags {
            let at = rng.below(parts.len() as u64 + 1) as usize;
            parts.insert(at, Part::Tag(tag));
        }
        for _ in 0..rng.below(3) {
            let mentioned = self.user(rng.below(USERS));
            let at = rng.below(parts.len() as u64 + 1) as usize;
            parts.insert(at, Part::Mention(mentioned));
        }
        let roll = rng.below(100);
        let earlier = (index > 0).then(|| index - 1 - rng.below(index.min(50)));
        let mut retweeted = None;
        let mut reply = None;
        match earlier {
            Some(target) if roll < 10 => {
                let author = self.user(self.author_of(target));
                parts.insert(0, Part::Retweet(author.clone()));
                retweeted = Some(Retweeted {
                    id: Self::id_of(target),
                    id_str: Self::id_of(target).to_string(),
                    user: author,
                });
            }
            Some(target) if roll < 25 => {
                let author = self.user(self.author_of(target));
                parts.insert(0, Part::Mention(author.clone()));
                reply = Some((Self::id_of(target), author));
            }
            _ => {}
        }
        let (text, entities) = render(&parts);
        Post {
            id,
            id_str: id.to_string(),
            created_at: created_at(ts),
            timestamp_ms: ts.to_string(),
            text,
            lang: (*rng.pick(&LANGS)).to_owned(),
            in_reply_to_status_id: reply.as_ref().map(|(id, _)| *id),
            in_reply_to_user_id: reply.as_ref().map(|(_, u)| u.id),
            in_reply_to_screen_name: reply.map(|(_, u)| u.screen_name),
            retweeted_status: retweeted,
            retweet_count: rng.below(20) * rng.below(20),
            favorite_count: rng.below(40) * rng.below(40),
            user,
            entities,
        }
    }

    /// Post `index` as one line of JSON (no newline).
    pub fn line(&self, index: u64) -> Vec<u8> {
        // Serialising a struct of strings and numbers cannot fail.
        serde_json::to_vec(&self.post(index)).unwrap_or_default()
    }
}

enum Part {
    Word(&'static str),
    Tag(&'static str),
    Mention(User),
    Retweet(User),
}

fn render(parts: &[Part]) -> (String, Entities) {
    let mut text = String::new();
    let mut chars = 0;
    let mut entities = Entities {
        hashtags: Vec::new(),
        user_mentions: Vec::new(),
    };
    for part in parts {
        if !text.is_empty() {
            text.push(' ');
            chars += 1;
        }
        let piece = match part {
            Part::Word(w) => (*w).to_owned(),
            Part::Tag(t) => {
                let piece = format!("#{t}");
                entities.hashtags.push(Hashtag {
                    text: (*t).to_owned(),
                    indices: [chars, chars + piece.chars().count()],
                });
                piece
            }
            Part::Mention(u) | Part::Retweet(u) => {
                let handle = format!("@{}", u.screen_name);
                entities.user_mentions.push(Mention {
                    screen_name: u.screen_name.clone(),
                    id: u.id,
                    indices: [
                        chars + usize::from(matches!(part, Part::Retweet(_))) * 3,
                        chars
                            + usize::from(matches!(part, Part::Retweet(_))) * 3
                            + handle.chars().count(),
                    ],
                });
                if matches!(part, Part::Retweet(_)) {
                    format!("RT {handle}:")
                } else {
                    handle
                }
            }
        };
        chars += piece.chars().count();
        text.push_str(&piece);
    }
    (text, entities)
}

/// Twitter's v1.1 `created_at` text of a time in ms.
pub fn created_at(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|ts| ts.strftime("%a %b %d %H:%M:%S +0000 %Y").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_gives_the_same_posts_and_another_seed_others() {
        let a = PostGenerator::new(42);
        let b = PostGenerator::new(42);
        let c = PostGenerator::new(43);
        for i in [0, 1, 7, 1000, 123_456] {
            assert_eq!(a.post(i), b.post(i));
        }
        assert_ne!(a.post(3).text, c.post(3).text);
    }

    #[test]
    fn ids_and_times_grow_and_entities_point_into_the_text() {
        let g = PostGenerator::new(7);
        let mut last_ts = 0;
        let mut hashtags = 0;
        for i in 0..2000 {
            let post = g.post(i);
            assert_eq!(post.id, FIRST_ID + i);
            assert_eq!(PostGenerator::index_of(post.id), Some(i));
            let ts: i64 = post.timestamp_ms.parse().unwrap();
            assert!(ts > last_ts);
            last_ts = ts;
            let chars: Vec<char> = post.text.chars().collect();
            for tag in &post.entities.hashtags {
                let [s, e] = tag.indices;
                let shown: String = chars[s..e].iter().collect();
                assert_eq!(shown, format!("#{}", tag.text), "{}", post.text);
                hashtags += 1;
            }
            for m in &post.entities.user_mentions {
                let [s, e] = m.indices;
                let shown: String = chars[s..e].iter().collect();
                assert_eq!(shown, format!("@{}", m.screen_name), "{}", post.text);
            }
            if let Some(rt) = &post.retweeted_status {
                assert!(rt.id < post.id);
                assert!(post.text.starts_with("RT @"));
            }
            assert_eq!(
                crate::connectors::http_feed::extract::timestamp_ms(&serde_json::json!(
                    post.created_at
                )),
                Some(ts - ts % 1000)
            );
        }
        assert!(hashtags > 1000, "{hashtags}");
    }
}
