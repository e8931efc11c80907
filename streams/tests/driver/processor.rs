//! The Processor API: punctuations, stores, and the processing error handler.

use super::*;

/// Counts records and emits the count on every punctuation.
struct Counter {
    seen: i64,
    stream_tick: Option<PunctuationId>,
}

impl Processor<String, String, String, i64> for Counter {
    fn init(
        &mut self,
        ctx: &mut ProcessorContext<'_, '_, '_, String, i64>,
    ) -> fjord_streams::Result<()> {
        self.stream_tick =
            Some(ctx.schedule(Duration::from_millis(100), PunctuationType::StreamTime));
        ctx.schedule(Duration::from_secs(1), PunctuationType::WallClockTime);
        Ok(())
    }

    fn process(
        &mut self,
        ctx: &mut ProcessorContext<'_, '_, '_, String, i64>,
        record: Record<String, String>,
    ) -> fjord_streams::Result<()> {
        self.seen += 1;
        let store = ctx.kv_store("seen")?;
        store.put(record.key.as_bytes(), record.value.as_bytes())?;
        Ok(())
    }

    fn punctuate(
        &mut self,
        ctx: &mut ProcessorContext<'_, '_, '_, String, i64>,
        id: PunctuationId,
        time: i64,
    ) -> fjord_streams::Result<()> {
        let which = if Some(id) == self.stream_tick {
            "stream"
        } else {
            "wall"
        };
        ctx.forward(Record::new(format!("{which}@{time}"), self.seen, time));
        Ok(())
    }
}

#[test]
fn the_processor_api_punctuates_on_stream_time_and_wall_clock_and_uses_stores() {
    let b = StreamsBuilder::new();
    b.add_key_value_store("seen");
    b.stream("in", strings())
        .process(
            || Counter {
                seen: 0,
                stream_tick: None,
            },
            &["seen"],
        )
        .to("ticks", Produced::with(Utf8, Int64));
    let driver = TopologyTestDriver::new(b.build().unwrap(), config()).unwrap();
    let input = driver.input_topic("in", Utf8, Utf8);
    input.pipe_input(s("a"), s("1"), 50).unwrap();
    input.pipe_input(s("b"), s("2"), 100).unwrap(); // stream time reaches 100: one punctuation
    input.pipe_input(s("c"), s("3"), 350).unwrap(); // jumps to 350: one more (Kafka fires once per advance)
    driver
        .advance_wall_clock_time(Duration::from_secs(1))
        .unwrap();
    let ticks = driver.output_topic("ticks", Utf8, Int64).read_key_values();
    assert_eq!(
        ticks,
        vec![
            (s("stream@100"), 2),
            (s("stream@350"), 3),
            (s("wall@1000"), 3)
        ]
    );
    assert_eq!(driver.key_value_store("seen", Utf8, Utf8).unwrap().len(), 3);
    assert_eq!(driver.changelog("app-seen-changelog").len(), 3);
}

#[test]
fn a_failing_processor_fails_by_default_and_is_skipped_with_the_continue_handler() {
    let build = || {
        let b = StreamsBuilder::new();
        b.stream("in", Consumed::with(Utf8, Int64))
            .process(|| Divider, &[])
            .to("out", Produced::with(Utf8, Int64));
        b.build().unwrap()
    };
    let failing = TopologyTestDriver::new(build(), config()).unwrap();
    let err = failing
        .input_topic("in", Utf8, Int64)
        .pipe_input(s("k"), 0, 0)
        .unwrap_err();
    assert!(err.to_string().contains("division by zero"), "{err}");
    assert!(
        err.to_string().contains("in-0@0"),
        "the error names the record: {err}"
    );

    let lenient = TopologyTestDriver::new(
        build(),
        config()
            .set(
                "processing.exception.handler",
                "org.apache.kafka.streams.errors.LogAndContinueProcessingExceptionHandler",
            )
            .unwrap(),
    )
    .unwrap();
    let input = lenient.input_topic("in", Utf8, Int64);
    input.pipe_input(s("a"), 0, 0).unwrap();
    input.pipe_input(s("b"), 4, 1).unwrap();
    assert_eq!(
        lenient.output_topic("out", Utf8, Int64).read_key_values(),
        vec![(s("b"), 25)]
    );
    assert_eq!(lenient.metrics().dropped_records, 1);
}

/// 100 / value; fails on zero.
struct Divider;

impl Processor<String, i64, String, i64> for Divider {
    fn process(
        &mut self,
        ctx: &mut ProcessorContext<'_, '_, '_, String, i64>,
        record: Record<String, i64>,
    ) -> fjord_streams::Result<()> {
        if record.value == 0 {
            return Err(ctx.error("division by zero"));
        }
        let v = 100 / record.value;
        ctx.forward(record.with_value(v));
        Ok(())
    }
}
