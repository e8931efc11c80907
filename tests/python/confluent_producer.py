"""Produce every line of a file to topic 'test' with confluent-kafka (librdkafka).

Usage: confluent_producer.py FILE [BOOTSTRAP]
The bootstrap address is the second argument, else $BOOTSTRAP, else localhost:9092.
Each line (without its line break) becomes one message value, encoded as UTF-8.
Exits 1 if any message was not delivered.
"""
import os
import sys

from confluent_kafka import Producer


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    path = sys.argv[1]
    bootstrap = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("BOOTSTRAP", "localhost:9092")

    errors = []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(err)

    producer = Producer({"bootstrap.servers": bootstrap})
    with open(path, encoding="utf-8") as f:
        for line in f:
            producer.produce("test", line.rstrip("\n").encode("utf-8"), on_delivery=on_delivery)
            producer.poll(0)
    remaining = producer.flush(30)
    if remaining or errors:
        sys.exit(f"confluent_producer.py: {remaining} undelivered, errors: {errors}")


if __name__ == "__main__":
    main()
