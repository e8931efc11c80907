"""One member of a consumer group, with kafka-python or confluent-kafka, as a user would write it.

Usage: group_member.py --client {kafka-python,confluent} --topic T --group G
                       [--offset-reset {earliest,latest}] [--max-records N] [BOOTSTRAP]
The bootstrap address is the argument, else $BOOTSTRAP, else localhost:9092.
With $GROUP_MEMBER_LOG set to a logging level (e.g. INFO), the client logs its group
protocol steps to stderr (kafka-python's loggers; librdkafka's debug=cgrp).

The consumer subscribes to T in group G with automatic commits off. It prints, one line each
and flushed at once:
  ASSIGNED <p,p,...>          whenever its assignment of T changes ('-' when empty)
  RECORD <partition> <offset> <value>
  COMMITTED <p>:<offset>,...  when stopping: the offsets it committed ('-' when none)
After each poll that returned records it commits, synchronously, the offset after the last
record it printed for each partition (at-least-once; records fetched but not printed are read
again by the next member). It stops when its standard input closes or after N records, then
closes the consumer, which leaves the group, and exits 0.
"""
import argparse
import os
import sys
import threading


def emit(line):
    print(line, flush=True)


def stop_on_stdin_eof():
    """An event set once standard input is closed."""
    stop = threading.Event()

    def wait():
        sys.stdin.read()
        stop.set()

    threading.Thread(target=wait, daemon=True).start()
    return stop


class Member:
    """Tracks what to print and what to commit; the client-specific loops feed it."""

    def __init__(self, topic, max_records):
        self.topic = topic
        self.max_records = max_records
        self.assigned = None
        self.next_offsets = {}
        self.uncommitted = False
        self.count = 0

    def assignment(self, partitions):
        partitions = sorted(partitions)
        if partitions != self.assigned:
            self.assigned = partitions
            emit("ASSIGNED " + (",".join(map(str, partitions)) or "-"))

    def record(self, partition, offset, value):
        emit(f"RECORD {partition} {offset} {value.decode('utf-8')}")
        self.next_offsets[partition] = offset + 1
        self.uncommitted = True
        self.count += 1

    def done(self):
        return self.max_records is not None and self.count >= self.max_records

    def to_commit(self):
        """The offsets to commit, if any were not yet; marks them committed."""
        if not self.uncommitted:
            return None
        self.uncommitted = False
        return dict(self.next_offsets)

    def committed(self):
        emit("COMMITTED " + (",".join(f"{p}:{o}" for p, o in sorted(self.next_offsets.items())) or "-"))


def run_kafka_python(args, member, stop):
    from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=[args.bootstrap],
        group_id=args.group,
        client_id=f"kafka-python-{args.group}",
        auto_offset_reset=args.offset_reset,
        enable_auto_commit=False,
        session_timeout_ms=10000,
        heartbeat_interval_ms=1000,
    )
    consumer.subscribe([args.topic])
    while not stop.is_set() and not member.done():
        # Not shorter: kafka-python 3.0.12 loses a rejoin that new topic metadata triggered
        # (its first join often precedes its first metadata for the topic) when poll()
        # times out before the JoinGroup/SyncGroup round trip ends. The assignment is never
        # applied and heartbeats stay off, so the member is expelled and never rejoins.
        batches = consumer.poll(timeout_ms=1000)
        member.assignment(tp.partition for tp in consumer.assignment() if tp.topic == args.topic)
        for tp, records in sorted(batches.items()):
            for record in records:
                if member.done():
                    break
                member.record(tp.partition, record.offset, record.value)
        offsets = member.to_commit()
        if offsets:
            consumer.commit({
                TopicPartition(args.topic, p): OffsetAndMetadata(o, "", -1)
                for p, o in offsets.items()
            })
    member.committed()
    consumer.close()


def run_confluent(args, member, stop):
    from confluent_kafka import Consumer, KafkaException, TopicPartition

    consumer = Consumer({
        "bootstrap.servers": args.bootstrap,
        "group.id": args.group,
        "client.id": f"confluent-{args.group}",
        "auto.offset.reset": args.offset_reset,
        "enable.auto.commit": False,
        "session.timeout.ms": 10000,
        "heartbeat.interval.ms": 1000,
        **({"debug": "cgrp"} if os.environ.get("GROUP_MEMBER_LOG") else {}),
    })
    consumer.subscribe([args.topic])
    while not stop.is_set() and not member.done():
        msg = consumer.poll(0.1)
        member.assignment(tp.partition for tp in consumer.assignment() if tp.topic == args.topic)
        if msg is None:
            continue
        if msg.error():
            raise KafkaException(msg.error())
        member.record(msg.partition(), msg.offset(), msg.value())
        offsets = member.to_commit()
        if offsets:
            consumer.commit(
                offsets=[TopicPartition(args.topic, p, o) for p, o in offsets.items()],
                asynchronous=False,
            )
    member.committed()
    consumer.close()


def main():
    log_level = os.environ.get("GROUP_MEMBER_LOG")
    if log_level:
        import logging
        logging.basicConfig(level=log_level, format="%(asctime)s %(name)s %(message)s")
    parser = argparse.ArgumentParser(description="one member of a consumer group")
    parser.add_argument("bootstrap", nargs="?", default=os.environ.get("BOOTSTRAP", "localhost:9092"))
    parser.add_argument("--client", choices=["kafka-python", "confluent"], required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--offset-reset", choices=["earliest", "latest"], default="earliest")
    parser.add_argument("--max-records", type=int, default=None)
    args = parser.parse_args()

    member = Member(args.topic, args.max_records)
    stop = stop_on_stdin_eof()
    if args.client == "kafka-python":
        run_kafka_python(args, member, stop)
    else:
        run_confluent(args, member, stop)


if __name__ == "__main__":
    main()
