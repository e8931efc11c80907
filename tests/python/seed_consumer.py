"""Print every message value of topic 'test' with kafka-python, one per line.

Usage: seed_consumer.py [BOOTSTRAP] [--max-messages N] [--timeout-ms MS]
The bootstrap address is the argument, else $BOOTSTRAP, else localhost:9092.
Stops after N messages, or when no message arrived for MS milliseconds (consumer_timeout_ms);
exits 1 when it stopped before N messages.

There is no group_id: kafka-python then assigns itself every partition of the subscribed topics
from metadata, without a group coordinator, and starts at the earliest offset.
"""
import argparse
import os
import sys

from kafka import KafkaConsumer


def main():
    parser = argparse.ArgumentParser(description="print the values of topic 'test'")
    parser.add_argument("bootstrap", nargs="?", default=os.environ.get("BOOTSTRAP", "localhost:9092"))
    parser.add_argument("--max-messages", type=int, default=None)
    parser.add_argument("--timeout-ms", type=int, default=10000)
    args = parser.parse_args()

    consumer = KafkaConsumer(
        bootstrap_servers=[args.bootstrap],
        auto_offset_reset="earliest",
        consumer_timeout_ms=args.timeout_ms,
    )
    consumer.subscribe(["test"])
    count = 0
    for message in consumer:
        print(message.value.decode("utf-8"), flush=True)
        count += 1
        if args.max_messages is not None and count >= args.max_messages:
            break
    consumer.close()
    if args.max_messages is not None and count < args.max_messages:
        sys.exit(f"seed_consumer.py: got {count} of {args.max_messages} messages before the timeout")


if __name__ == "__main__":
    main()
