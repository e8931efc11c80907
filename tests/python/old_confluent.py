"""confluent-kafka 2.3 (librdkafka 2.3 inside) against a broker, as a user writes it.

Usage: old_confluent.py COMMAND ARGS...   (bootstrap address from $BOOTSTRAP)
  admin TOPIC PARTITIONS   create TOPIC; print CREATED <topic>, then TOPIC <name> <partitions>
                           as the admin client lists it
  produce TOPIC N TS       send values v0..v(N-1) to partition 0, record i with timestamp
                           TS + 10*i, acks=all; print PRODUCED <n>
  consume TOPIC GROUP N    subscribe in GROUP (earliest, no auto commit), print
                           RECORD <partition> <offset> <value> for N records, commit the
                           offset after the last one synchronously, print COMMITTED <p>:<offset>,
                           close
  offsets_for_times TOPIC TS   print OFFSET <offset> for partition 0 (-1 if none)
  groups                   print GROUP <id> for every group the admin client lists
  version                  print VERSION <client> <version> (and the librdkafka inside)
Exits non-zero on any error, or when N records do not arrive within 30 s.
"""
import os
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

BOOTSTRAP = os.environ.get("BOOTSTRAP", "localhost:9092")
IDLE_TIMEOUT_S = 30


def emit(line):
    print(line, flush=True)


def admin(topic, partitions):
    client = AdminClient({"bootstrap.servers": BOOTSTRAP, "client.id": "old-confluent-admin"})
    for f in client.create_topics([NewTopic(topic, num_partitions=int(partitions), replication_factor=1)]).values():
        f.result(timeout=10)
    emit(f"CREATED {topic}")
    listed = client.list_topics(topic=topic, timeout=10).topics[topic]
    if listed.error is not None:
        sys.exit(f"list_topics: {listed.error}")
    emit(f"TOPIC {topic} {len(listed.partitions)}")


def produce(topic, n, ts):
    producer = Producer({"bootstrap.servers": BOOTSTRAP, "acks": "all", "client.id": "old-confluent-producer"})
    failures = []

    def delivered(err, _msg):
        if err is not None:
            failures.append(err)

    for i in range(int(n)):
        producer.produce(topic, value=f"v{i}".encode(), partition=0, timestamp=int(ts) + 10 * i, on_delivery=delivered)
    if producer.flush(30) != 0 or failures:
        sys.exit(f"not delivered: {failures or 'flush timed out'}")
    emit(f"PRODUCED {n}")


def consume(topic, group, n):
    consumer = Consumer({
        "bootstrap.servers": BOOTSTRAP,
        "group.id": group,
        "client.id": "old-confluent-consumer",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    consumer.subscribe([topic])
    count = 0
    last = None
    deadline = time.monotonic() + IDLE_TIMEOUT_S
    while count < int(n):
        if time.monotonic() > deadline:
            sys.exit(f"only {count} of {n} records within {IDLE_TIMEOUT_S} s")
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            raise KafkaException(msg.error())
        emit(f"RECORD {msg.partition()} {msg.offset()} {msg.value().decode()}")
        last = msg
        count += 1
        deadline = time.monotonic() + IDLE_TIMEOUT_S
    consumer.commit(message=last, asynchronous=False)
    emit(f"COMMITTED {last.partition()}:{last.offset() + 1}")
    consumer.close()


def offsets_for_times(topic, ts):
    consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": "old-confluent-times"})
    (found,) = consumer.offsets_for_times([TopicPartition(topic, 0, int(ts))], timeout=10)
    if found.error is not None:
        sys.exit(f"offsets_for_times: {found.error}")
    emit(f"OFFSET {found.offset}")
    consumer.close()


def groups():
    client = AdminClient({"bootstrap.servers": BOOTSTRAP, "client.id": "old-confluent-admin"})
    result = client.list_consumer_groups().result(timeout=10)
    if result.errors:
        sys.exit(f"list_consumer_groups: {result.errors}")
    for g in result.valid:
        emit(f"GROUP {g.group_id}")


def version():
    import confluent_kafka

    emit(f"VERSION confluent-kafka {confluent_kafka.version()[0]} librdkafka {confluent_kafka.libversion()[0]}")


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
