"""kafka-python 2.0.2 (the release most users still pin) against a broker, as a user writes it.

Usage: old_kafka_python.py COMMAND ARGS...   (bootstrap address from $BOOTSTRAP)
  admin TOPIC PARTITIONS   create TOPIC; print CREATED <topic>, then TOPIC <name> <partitions>
                           as listed and described by the admin client
  produce TOPIC N TS       send values v0..v(N-1) to partition 0, record i with timestamp
                           TS + 10*i, acks=all; print PRODUCED <n>
  consume TOPIC GROUP N    subscribe in GROUP (earliest, no auto commit), print
                           RECORD <partition> <offset> <value> for N records, commit the
                           offset after the last one synchronously, print COMMITTED <p>:<offset>,
                           close
  offsets_for_times TOPIC TS   print OFFSET <offset> <timestamp> for partition 0 ('- -' if none)
  groups                   print GROUP <id> for every group the admin client lists
  version                  print VERSION <client> <version> (and the librdkafka inside)
Exits non-zero on any error, or when N records do not arrive within 30 s.
"""
import os
import sys

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, OffsetAndMetadata, TopicPartition
from kafka.admin import NewTopic

BOOTSTRAP = os.environ.get("BOOTSTRAP", "localhost:9092")
IDLE_TIMEOUT_MS = 30000


def emit(line):
    print(line, flush=True)


def admin(topic, partitions):
    client = KafkaAdminClient(bootstrap_servers=[BOOTSTRAP], client_id="old-kafka-python-admin")
    try:
        client.create_topics([NewTopic(topic, int(partitions), 1)], timeout_ms=10000)
        emit(f"CREATED {topic}")
        if topic not in client.list_topics():
            sys.exit(f"list_topics does not list {topic}")
        for t in client.describe_topics([topic]):
            emit(f"TOPIC {t['topic']} {len(t['partitions'])}")
    finally:
        client.close()


def produce(topic, n, ts):
    producer = KafkaProducer(bootstrap_servers=[BOOTSTRAP], acks="all", client_id="old-kafka-python-producer")
    for i in range(int(n)):
        producer.send(topic, value=f"v{i}".encode(), partition=0, timestamp_ms=int(ts) + 10 * i).get(timeout=30)
    producer.flush()
    producer.close()
    emit(f"PRODUCED {n}")


def consume(topic, group, n):
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=[BOOTSTRAP],
        group_id=group,
        client_id="old-kafka-python-consumer",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=IDLE_TIMEOUT_MS,
    )
    last = None
    count = 0
    for msg in consumer:
        emit(f"RECORD {msg.partition} {msg.offset} {msg.value.decode()}")
        last = msg
        count += 1
        if count == int(n):
            break
    if count < int(n):
        sys.exit(f"only {count} of {n} records within {IDLE_TIMEOUT_MS} ms")
    tp = TopicPartition(topic, last.partition)
    consumer.commit({tp: OffsetAndMetadata(last.offset + 1, "")})
    emit(f"COMMITTED {last.partition}:{last.offset + 1}")
    consumer.close()


def offsets_for_times(topic, ts):
    consumer = KafkaConsumer(bootstrap_servers=[BOOTSTRAP], client_id="old-kafka-python-times")
    tp = TopicPartition(topic, 0)
    found = consumer.offsets_for_times({tp: int(ts)})[tp]
    emit("OFFSET - -" if found is None else f"OFFSET {found.offset} {found.timestamp}")
    consumer.close()


def groups():
    client = KafkaAdminClient(bootstrap_servers=[BOOTSTRAP], client_id="old-kafka-python-admin")
    try:
        # 2.0.2 returns (group id, protocol type) pairs.
        for group_id, _protocol_type in client.list_consumer_groups():
            emit(f"GROUP {group_id}")
    finally:
        client.close()


def version():
    import kafka

    emit(f"VERSION kafka-python {kafka.__version__}")


COMMANDS = {
    "version": version,
    "admin": admin,
    "produce": produce,
    "consume": consume,
    "offsets_for_times": offsets_for_times,
    "groups": groups,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](*sys.argv[2:])
