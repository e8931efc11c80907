"""confluent-kafka's schema registry client and Avro serdes against Fjord's registry.

Usage: registry_avro.py client|produce|consume   (env: BOOTSTRAP, REGISTRY_URL, TOPIC, COUNT)
  client   exercises SchemaRegistryClient's calls; prints one JSON object of what it saw
  produce  sends COUNT sales with AvroSerializer (auto-registering TOPIC-value); prints the id
  consume  reads COUNT records with AvroDeserializer; prints each as one JSON line
"""
import json
import os
import sys

from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext

SALE = json.dumps({
    "type": "record", "name": "sale", "namespace": "shop",
    "fields": [
        {"name": "item", "type": "string"},
        {"name": "quantity", "type": "int"},
        {"name": "price", "type": "double"},
        {"name": "note", "type": ["null", "string"], "default": None},
    ],
})
SALE_V2 = json.loads(SALE)
SALE_V2["fields"].append({"name": "shop", "type": "string", "default": "oslo"})
SALE_V2 = json.dumps(SALE_V2)
BAD = SALE.replace('"quantity", "type": "int"', '"quantity", "type": "string"')

registry = SchemaRegistryClient({"url": os.environ["REGISTRY_URL"]})
topic = os.environ.get("TOPIC", "sales")
count = int(os.environ.get("COUNT", "100"))


def client():
    seen = {}
    subject = topic + "-client"
    first = registry.register_schema(subject, Schema(SALE, "AVRO"))
    seen["id"] = first
    seen["again"] = registry.register_schema(subject, Schema(SALE, "AVRO"))
    seen["schema_by_id"] = json.loads(registry.get_schema(first).schema_str)["name"]
    looked = registry.lookup_schema(subject, Schema(SALE, "AVRO"))
    seen["lookup_version"] = looked.version
    seen["compatible_v2"] = registry.test_compatibility(subject, Schema(SALE_V2, "AVRO"))
    seen["compatible_bad"] = registry.test_compatibility(subject, Schema(BAD, "AVRO"))
    try:
        registry.register_schema(subject, Schema(BAD, "AVRO"))
        seen["bad_register"] = "accepted"
    except SchemaRegistryError as e:
        seen["bad_register"] = e.error_code
    seen["v2_id"] = registry.register_schema(subject, Schema(SALE_V2, "AVRO"))
    seen["versions"] = registry.get_versions(subject)
    latest = registry.get_latest_version(subject)
    seen["latest"] = [latest.version, latest.schema_id]
    seen["set_level"] = registry.set_compatibility(subject, "FULL")
    seen["level"] = registry.get_compatibility(subject)
    seen["subjects"] = registry.get_subjects()
    try:
        registry.get_version(subject, 9)
    except SchemaRegistryError as e:
        seen["missing_version"] = e.error_code
    seen["deleted"] = registry.delete_subject(subject)
    seen["after_delete"] = [s for s in registry.get_subjects() if s == subject]
    print(json.dumps(seen))


def produce():
    serializer = AvroSerializer(registry, SALE)
    producer = Producer({"bootstrap.servers": os.environ["BOOTSTRAP"], "acks": "all"})
    for i in range(count):
        sale = {"item": "item-%d" % i, "quantity": i, "price": i * 1.5,
                "note": None if i % 2 else "note %d" % i}
        value = serializer(sale, SerializationContext(topic, MessageField.VALUE))
        producer.produce(topic, value=value, key=str(i).encode())
    if producer.flush(30) != 0:
        sys.exit("records left unsent")
    print(json.dumps({"id": registry.get_latest_version(topic + "-value").schema_id}))


def consume():
    deserializer = AvroDeserializer(registry)
    consumer = Consumer({"bootstrap.servers": os.environ["BOOTSTRAP"], "group.id": "py-avro-" + topic,
                         "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    got = 0
    idle = 0
    while got < count and idle < 200:
        msg = consumer.poll(0.1)
        if msg is None:
            idle += 1
            continue
        if msg.error():
            sys.exit(str(msg.error()))
        idle = 0
        sale = deserializer(msg.value(), SerializationContext(topic, MessageField.VALUE))
        print(json.dumps(sale, sort_keys=True))
        got += 1
    consumer.close()
    if got < count:
        sys.exit("only %d of %d records" % (got, count))


{"client": client, "produce": produce, "consume": consume}[sys.argv[1]]()
