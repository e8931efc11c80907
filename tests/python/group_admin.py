"""Consumer group administration with kafka-python's KafkaAdminClient or confluent-kafka's
AdminClient, printing what the client reports as sorted lines of space-separated fields
('-' for a value the client does not report), for the caller to compare exactly.

Usage: group_admin.py --client {kafka-python,confluent} COMMAND [GROUP...] [--bootstrap B]
The bootstrap address is --bootstrap, else $BOOTSTRAP, else localhost:9092.

Commands and their output lines:
  list             GROUP <group> <state> <type> <protocol type>
  describe GROUP   STATE <state> / PROTOCOL_TYPE <type> / ASSIGNOR <name> / ERROR <error>
                   MEMBER <member id> <client id> <host> <topic:partition,...>
                   OPERATIONS <authorized operation,...>
  offsets GROUP    OFFSET <topic> <partition> <committed> <log end> <lag>, for every partition
                   with a committed offset; lag = log end - committed, the log end from
                   ListOffsets (latest)
  delete GROUP...  DELETED <group> <OK or the error name>
kafka-python 3 renamed its group calls (list_groups, describe_groups, list_group_offsets,
delete_groups); those are what this uses. Exits non-zero on any unexpected error.
"""
import argparse
import os


def kafka_python(args):
    from kafka import KafkaAdminClient, TopicPartition
    from kafka.admin import OffsetSpec

    admin = KafkaAdminClient(bootstrap_servers=[args.bootstrap], client_id="kafka-python-admin")
    try:
        if args.command == "list":
            out = [{
                "group": g["group_id"],
                "state": g.get("group_state"),
                "type": g.get("group_type"),
                "protocol_type": g.get("protocol_type"),
            } for g in admin.list_groups()]
            return sorted(out, key=lambda g: g["group"])
        if args.command == "describe":
            (group,) = args.groups
            d = admin.describe_groups([group], include_authorized_operations=True)[group]
            members = []
            for m in d["members"]:
                assignment = m["member_assignment"]
                partitions = []
                if assignment:
                    # describe_groups returns the decoded assignment as a dict (to_dict()).
                    for t in assignment["assigned_partitions"]:
                        partitions.extend([t["topic"], p] for p in t["partitions"])
                members.append({
                    "member_id": m["member_id"],
                    "client_id": m["client_id"],
                    "host": m["client_host"],
                    "assignment": sorted(partitions),
                })
            return {
                "group": d["group_id"],
                "state": d["group_state"],
                "protocol_type": d["protocol_type"],
                "assignor": d["protocol_data"],
                "error": d["error"],
                "members": sorted(members, key=lambda m: m["member_id"]),
                "authorized_operations": sorted(getattr(op, "name", op) for op in (d["authorized_operations"] or [])),
            }
        if args.command == "offsets":
            (group,) = args.groups
            committed = admin.list_group_offsets(group)[group]
            committed = {tp: om.offset for tp, om in committed.items() if om.offset >= 0}
            ends = admin.list_partition_offsets({tp: OffsetSpec.LATEST for tp in committed})
            return {
                f"{tp.topic}:{tp.partition}": {
                    "committed": offset,
                    "log_end": ends[tp].offset,
                    "lag": ends[tp].offset - offset,
                } for tp, offset in committed.items()
            }
        if args.command == "delete":
            results = admin.delete_groups(args.groups)
            return {g: (None if r == "OK" else r) for g, r in results.items()}
    finally:
        admin.close()
    raise SystemExit(f"unknown command {args.command}")


def confluent(args):
    from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
    from confluent_kafka.admin import AdminClient, OffsetSpec

    admin = AdminClient({"bootstrap.servers": args.bootstrap, "client.id": "confluent-admin"})
    timeout = 20
    if args.command == "list":
        result = admin.list_consumer_groups(request_timeout=timeout).result()
        if result.errors:
            raise SystemExit(f"list_consumer_groups errors: {result.errors}")
        out = [{
            "group": g.group_id,
            "state": g.state.name if g.state is not None else None,
            "type": g.type.name if getattr(g, "type", None) is not None else None,
            "protocol_type": None if g.is_simple_consumer_group else "consumer",
        } for g in result.valid]
        return sorted(out, key=lambda g: g["group"])
    if args.command == "describe":
        (group,) = args.groups
        d = admin.describe_consumer_groups(
            [group], include_authorized_operations=True, request_timeout=timeout)[group].result()
        members = [{
            "member_id": m.member_id,
            "client_id": m.client_id,
            "host": m.host,
            "assignment": sorted([tp.topic, tp.partition] for tp in m.assignment.topic_partitions),
        } for m in d.members]
        return {
            "group": d.group_id,
            "state": d.state.name,
            "protocol_type": None if d.is_simple_consumer_group else "consumer",
            "assignor": d.partition_assignor,
            "error": None,
            "members": sorted(members, key=lambda m: m["member_id"]),
            "authorized_operations": sorted(op.name for op in (d.authorized_operations or [])),
        }
    if args.command == "offsets":
        (group,) = args.groups
        result = admin.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group)], request_timeout=timeout)[group].result()
        committed = {}
        for tp in result.topic_partitions:
            if tp.error is not None:
                raise KafkaException(tp.error)
            if tp.offset >= 0:
                committed[(tp.topic, tp.partition)] = tp.offset
        futures = admin.list_offsets(
            {TopicPartition(t, p): OffsetSpec.latest() for t, p in committed},
            request_timeout=timeout)
        ends = {(tp.topic, tp.partition): f.result().offset for tp, f in futures.items()}
        return {
            f"{t}:{p}": {
                "committed": offset,
                "log_end": ends[(t, p)],
                "lag": ends[(t, p)] - offset,
            } for (t, p), offset in committed.items()
        }
    if args.command == "delete":
        out = {}
        for group, future in admin.delete_consumer_groups(args.groups, request_timeout=timeout).items():
            try:
                future.result()
                out[group] = None
            except KafkaException as e:
                out[group] = e.args[0].name()
        return out
    raise SystemExit(f"unknown command {args.command}")


def field(value):
    """One output field: '-' for a missing or empty value."""
    return "-" if value is None or value == "" else str(value)


def report(command, result):
    """The output lines of a command's result, sorted."""
    if command == "list":
        lines = [" ".join(["GROUP"] + [field(g[k]) for k in ("group", "state", "type", "protocol_type")])
                 for g in result]
    elif command == "describe":
        lines = [f"{key.upper()} {field(result[key])}"
                 for key in ("state", "protocol_type", "assignor", "error")]
        for m in result["members"]:
            assignment = ",".join(f"{t}:{p}" for t, p in m["assignment"])
            lines.append(" ".join(["MEMBER"] + [field(v) for v in (
                m["member_id"], m["client_id"], m["host"], assignment)]))
        lines.append("OPERATIONS " + field(",".join(result["authorized_operations"])))
    elif command == "offsets":
        lines = []
        for tp, o in result.items():
            topic, partition = tp.rsplit(":", 1)
            lines.append(f"OFFSET {topic} {partition} {o['committed']} {o['log_end']} {o['lag']}")
    else:
        lines = [f"DELETED {group} {error or 'OK'}" for group, error in result.items()]
    return sorted(lines)


def main():
    parser = argparse.ArgumentParser(description="consumer group administration")
    parser.add_argument("--client", choices=["kafka-python", "confluent"], required=True)
    parser.add_argument("--bootstrap", default=os.environ.get("BOOTSTRAP", "localhost:9092"))
    parser.add_argument("command", choices=["list", "describe", "offsets", "delete"])
    parser.add_argument("groups", nargs="*")
    args = parser.parse_args()
    result = kafka_python(args) if args.client == "kafka-python" else confluent(args)
    for line in report(args.command, result):
        print(line, flush=True)


if __name__ == "__main__":
    main()
