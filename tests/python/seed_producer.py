"""Produce every line of a file to topic 'test' with kafka-python, as a Kafka user would.

Usage: seed_producer.py FILE [BOOTSTRAP]
The bootstrap address is the second argument, else $BOOTSTRAP, else localhost:9092.
Each line (without its line break) becomes one message value, encoded as UTF-8.
"""
import os
import sys

from kafka import KafkaProducer


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    path = sys.argv[1]
    bootstrap = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("BOOTSTRAP", "localhost:9092")

    producer = KafkaProducer(bootstrap_servers=[bootstrap])
    with open(path, encoding="utf-8") as f:
        for line in f:
            producer.send("test", line.rstrip("\n").encode("utf-8"))
    producer.flush()
    producer.close()


if __name__ == "__main__":
    main()
