"""The sales -> prices transform of `fjord perf streams`, in Quix Streams.

Usage: python quix_prices.py BOOTSTRAP INPUT OUTPUT GROUP
Reads sales as JSON from INPUT, writes each with its volume price (5% off
from 10 units, 10% off from 100, rounded to cents) to OUTPUT, keyed as
read, until killed.
"""

import sys
import tempfile

from quixstreams import Application


def price(sale):
    q = sale["quantity"]
    factor = 0.90 if q >= 100 else 0.95 if q >= 10 else 1.0
    return {
        "product": sale["product"],
        "quantity": q,
        "price_per_quantity": sale["price_per_quantity"],
        "new_price_per_quantity": round(sale["price_per_quantity"] * factor * 100) / 100,
        "ts": sale["ts"],
    }


def main():
    bootstrap, source, sink, group = sys.argv[1:5]
    app = Application(
        broker_address=bootstrap,
        consumer_group=group,
        auto_offset_reset="earliest",
        commit_interval=1.0,
        state_dir=tempfile.mkdtemp(prefix="quix-bench-"),
    )
    inp = app.topic(source, value_deserializer="json", key_deserializer="str")
    out = app.topic(sink, value_serializer="json", key_serializer="str")
    sdf = app.dataframe(inp)
    sdf = sdf.apply(price)
    sdf.to_topic(out)
    app.run()


if __name__ == "__main__":
    main()
