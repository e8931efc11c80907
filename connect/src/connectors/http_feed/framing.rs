//! Turning a response body's chunks into items, whatever the chunk boundaries: lines of
//! newline-delimited JSON ([`LineSplitter`]) and Server-Sent Events ([`SseParser`], the
//! WHATWG `text/event-stream` rules). Both are incremental: bytes in, whole items out, the
//! rest kept for the next chunk, so a line split across reads (a slow server) is one item.

/// The longest line kept; a longer one is cut and handed out as it is (it will fail to
/// parse and be reported), so a server that never sends a newline cannot exhaust memory.
pub const MAX_LINE: usize = 4 * 1024 * 1024;

/// Splits bytes into lines (without `\n` or `\r\n`).
#[derive(Debug, Default)]
pub struct LineSplitter {
    partial: Vec<u8>,
}

impl LineSplitter {
    /// A splitter with nothing buffered.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `chunk` and calls `line` with each complete line, in order.
    pub fn push(&mut self, chunk: &[u8], mut line: impl FnMut(&[u8])) {
        let mut rest = chunk;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            let (head, tail) = rest.split_at(end);
            if self.partial.is_empty() {
                line(trim_cr(head));
            } else {
                self.partial.extend_from_slice(head);
                line(trim_cr(&self.partial));
                self.partial.clear();
            }
            rest = &tail[1..];
        }
        self.partial.extend_from_slice(rest);
        if self.partial.len() > MAX_LINE {
            line(&self.partial);
            self.partial.clear();
        }
    }
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// One Server-Sent Event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` type (`message` when not given).
    pub event: String,
    /// The `data:` lines joined by `\n`.
    pub data: String,
    /// The last event id in effect (`id:`), what `Last-Event-ID` carries on a reconnect.
    pub id: Option<String>,
}

/// Parses `text/event-stream` bytes into events: fields `data`, `event`, `id` and `retry`,
/// comments (`:` lines, what keep-alives are), an event dispatched at a blank line.
#[derive(Debug, Default)]
pub struct SseParser {
    lines: LineSplitter,
    event: String,
    data: String,
    has_data: bool,
    last_id: Option<String>,
    retry_ms: Option<u64>,
}

impl SseParser {
    /// A parser at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// The reconnection time the server asked for (`retry:`), if any.
    pub fn retry_ms(&self) -> Option<u64> {
        self.retry_ms
    }

    /// Appends `chunk` and calls `out` with each complete event.
    pub fn push(&mut self, chunk: &[u8], mut out: impl FnMut(SseEvent)) {
        let mut lines = std::mem::take(&mut self.lines);
        lines.push(chunk, |line| self.line(line, &mut out));
        self.lines = lines;
    }

    fn line(&mut self, line: &[u8], out: &mut impl FnMut(SseEvent)) {
        if line.is_empty() {
            if self.has_data {
                out(SseEvent {
                    event: if self.event.is_empty() {
                        "message".to_owned()
                    } else {
                        std::mem::take(&mut self.event)
                    },
                    data: std::mem::take(&mut self.data),
                    id: self.last_id.clone(),
                });
            }
            self.event.clear();
            self.data.clear();
            self.has_data = false;
            return;
        }
        if line[0] == b':' {
            return;
        }
        let text = String::from_utf8_lossy(line);
        let (field, value) = match text.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (text.as_ref(), ""),
        };
        match field {
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "event" => value.clone_into(&mut self.event),
            "id" if !value.contains('\0') => self.last_id = Some(value.to_owned()),
            "retry" => {
                if let Ok(ms) = value.trim().parse() {
                    self.retry_ms = Some(ms);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_all(chunks: &[&[u8]]) -> Vec<String> {
        let mut splitter = LineSplitter::new();
        let mut out = Vec::new();
        for chunk in chunks {
            splitter.push(chunk, |l| out.push(String::from_utf8_lossy(l).into_owned()));
        }
        out
    }

    #[test]
    fn lines_survive_any_chunking() {
        let text = b"{\"a\":1}\r\n\n{\"b\":2}\n";
        let whole = split_all(&[text]);
        assert_eq!(whole, ["{\"a\":1}", "", "{\"b\":2}"]);
        for cut in 0..text.len() {
            let (x, y) = text.split_at(cut);
            assert_eq!(split_all(&[x, y]), whole, "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(split_all(&bytes), whole);
        assert_eq!(split_all(&[b"no newline yet"]), Vec::<String>::new());
    }

    #[test]
    fn server_sent_events_follow_the_whatwg_rules() {
        let stream = b": keep-alive\n\nid: 7\nevent: post\ndata: {\"x\":\ndata: 1}\n\nretry: 2500\ndata:plain\n\n";
        for cut in 0..stream.len() {
            let mut parser = SseParser::new();
            let mut events = Vec::new();
            let (x, y) = stream.split_at(cut);
            parser.push(x, |e| events.push(e));
            parser.push(y, |e| events.push(e));
            assert_eq!(
                events,
                [
                    SseEvent {
                        event: "post".into(),
                        data: "{\"x\":\n1}".into(),
                        id: Some("7".into())
                    },
                    SseEvent {
                        event: "message".into(),
                        data: "plain".into(),
                        id: Some("7".into())
                    }
                ],
                "cut at {cut}"
            );
            assert_eq!(parser.retry_ms(), Some(2500));
        }
    }
}
