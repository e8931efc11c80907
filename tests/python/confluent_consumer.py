"""Print every message value of topic 'test' with confluent-kafka (librdkafka), one per line.

Usage: confluent_consumer.py [BOOTSTRAP] [--max-messages N] [--timeout-ms MS]
The bootstrap address is the argument, else $BOOTSTRAP, else localhost:9092.
Stops after N messages, or when no message arrived for MS milliseconds; exits 1 when it
stopped before N messages.

librdkafka insists on a group.id for a Consumer, but this one never uses the group: it assigns
every partition of 'test' itself, from the beginning, and commits nothing.
"""
import argparse
import os
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition


def main():
    parser = argparse.ArgumentParser(description="print the values of topic 'test'")
    parser.add_argument("bootstrap", nargs="?", default=os.environ.get("BOOTSTRAP", "localhost:9092"))
    parser.add_argument("--max-messages", type=int, default=None)
    parser.add_argument("--timeout-ms", type=int, default=10000)
    args = parser.parse_args()

    consumer = Consumer({
        "bootstrap.servers": args.bootstrap,
        "group.id": "fjord-python-clients",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
    })
    topic = consumer.list_topics("test", timeout=10).topics["test"]
    if topic.error is not None:
        raise KafkaException(topic.error)
    consumer.assign([TopicPartition("test", p, OFFSET_BEGINNING) for p in sorted(topic.partitions)])

    count = 0
    idle_since = time.monotonic()
    while args.max_messages is None or count < args.max_messages:
        msg = consumer.poll(0.1)
        if msg is None:
            if (time.monotonic() - idle_since) * 1000 >= args.timeout_ms:
                break
            continue
        if msg.error():
            raise KafkaException(msg.error())
        print(msg.value().decode("utf-8"), flush=True)
        count += 1
        idle_since = time.monotonic()
    consumer.close()
    if args.max_messages is not None and count < args.max_messages:
        sys.exit(f"confluent_consumer.py: got {count} of {args.max_messages} messages before the timeout")


if __name__ == "__main__":
    main()
