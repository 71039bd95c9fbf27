"""On-demand benchmark of the provider directory (not collected by pytest): `python tests/directory/bench_directory.py [N]`.

Builds a synthetic index of N providers (default 60,000, about twice the Lantern lists Carry downloads), then
times Directory.load() against a baseline of json.loads on the same file, and search() against a naive scan that
folds every name per query, both measured in this run.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sync.directory import Directory, Place, Provider, fold

WORDS = ("saint mary general regional community family medical center clinic pediatrics heart valley river lake "
         "north south east west memorial university children health partners care hôpital élan orthopedics").split()
CITIES = ("Boston", "Springfield", "Madison", "Phoenix", "Montréal", "Des Moines", "Portland", "Austin", "Dayton")
STATES = ("MA", "IL", "WI", "AZ", "IA", "OR", "TX", "OH", "NC", "CA")
VENDORS = (("Epic", "epic"), ("Oracle Health", "oracle-health"), ("athenahealth", "athenahealth"),
           ("MEDITECH", "meditech"), ("eClinicalWorks", "eclinicalworks"))  # fmt: skip
QUERIES = ("s", "sa", "saint", "saint mary", "boston", "pediatrics ma", "hopital", "02115", "zzz", "medical center")


def synthetic(n: int) -> list[Provider]:
    rng = random.Random(7)
    out = []
    for i in range(n):
        name = " ".join(rng.choice(WORDS).title() for _ in range(rng.randint(2, 4))) + f" {i}"
        vendor, key = rng.choice(VENDORS)
        place = Place(rng.choice(CITIES), rng.choice(STATES), f"{rng.randint(1000, 99999):05d}")
        out.append(Provider(name, f"https://fhir{i}.example.org/r4/", vendor, key, (place,)))
    return out


def timed(fn: object, repeat: int = 5) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 60_000
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp)
        Directory(synthetic(n)).write_index(cache / "index.json")
        size = (cache / "index.json").stat().st_size
        baseline = timed(lambda: json.loads((cache / "index.json").read_bytes()))
        load = timed(lambda: Directory.load(cache_dir=cache))
        print(f"{n} providers, index {size / 1e6:.1f} MB")
        print(f"load:   {load * 1000:7.1f} ms   (json.loads alone {baseline * 1000:.1f} ms; ratio {load / baseline:.2f})")
        directory = Directory.load(cache_dir=cache)
        providers = list(directory)

        def naive(query: str) -> list[Provider]:
            words = fold(query).split()
            return [p for p in providers if all(w in fold(p.name + " " + p.city + " " + p.state) for w in words)][:20]

        for query in QUERIES:
            ours = timed(lambda: directory.search(query), repeat=9)
            theirs = timed(lambda: naive(query), repeat=3)
            print(f"search {query!r:18} {ours * 1000:6.2f} ms   (naive scan {theirs * 1000:7.1f} ms; ratio {ours / theirs:.3f})")


if __name__ == "__main__":
    main()
