"""Prints what kafka-python's KafkaAdminClient.describe_log_dirs() reports, one line per
partition and one per log dir, sorted, for the caller to compare:

  DIR <log dir> <total bytes> <usable bytes> <error code>
  PARTITION <topic> <partition> <size> <offset lag> <is future>

Usage: log_dirs.py [TOPIC:PARTITION,PARTITION ...]   (no argument: every topic)
The bootstrap address is $BOOTSTRAP.
"""
import os
import sys

from kafka import KafkaAdminClient


def main():
    asked = None
    if len(sys.argv) > 1:
        asked = {}
        for arg in sys.argv[1:]:
            topic, partitions = arg.split(":")
            asked[topic] = [int(p) for p in partitions.split(",")]
    admin = KafkaAdminClient(bootstrap_servers=[os.environ["BOOTSTRAP"]], client_id="log-dirs")
    try:
        lines = []
        for broker in admin.describe_log_dirs(topic_partitions=asked):
            for d in broker["log_dirs"]:
                lines.append(f"DIR {d['log_dir']} {d['total_bytes']} {d['usable_bytes']} {d['error_code']}")
                for t in d["topics"]:
                    for p in t["partitions"]:
                        lines.append(
                            f"PARTITION {t['name']} {p['partition_index']} {p['partition_size']} "
                            f"{p['offset_lag']} {p['is_future_key']}"
                        )
        for line in sorted(lines):
            print(line)
    finally:
        admin.close()


if __name__ == "__main__":
    main()
