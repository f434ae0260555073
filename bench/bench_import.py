"""Annotators' submit latency while a large import is written: chunked (the store's default, a short
transaction per 250 items) against one transaction for the whole import (how imports were written before),
both measured in the same run on the same store kind. Store level, no HTTP: isolates the write lock.
``--labels``: the file is rating feedback, so each row's LLM rating is stored too (in chunks of 5,000 rows,
against one transaction for all of them).

    python bench/bench_import.py [--rows 100000] [--annotators 20] [--db sqlite|postgres] [--labels]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sparse_feedback.store import Store  # noqa: E402


def _generation(rows: int) -> pd.DataFrame:
    n = max(1, rows // 4)
    return pd.DataFrame([(f"Imported instruction {i}", "", [f"Response {j} to {i}" for j in range(4)]) for i in range(n)],
                        columns=["instruction", "input", "responses"], dtype=object)


def _p(values, q) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) > 1 else values[0] * 1000


def _import(store, rows: int, chunk: int | None, labels: bool) -> None:
    """Write the imported project: chunked (``chunk`` items a transaction) or in one transaction (None)."""
    from sparse_feedback.store.importing import Upload, create_project

    gen = _generation(rows)
    if not labels:
        store.create_project_from_generation(gen, "imported", chunk=chunk or len(gen))
        return
    ratings = gen.explode("responses").rename(columns={"responses": "output"}).assign(rating=5)
    if chunk:
        create_project(store, Upload("rating feedback", gen, ratings=ratings), "imported", chunk=chunk)
    else:
        store.create_project_from_generation(gen, "imported", chunk=len(gen),
                                             before_publish=lambda hidden: store.import_llm_ratings(hidden, ratings))


def measure(url: str, rows: int, annotators: int, chunk: int | None, labels: bool = False) -> tuple[list[float], float]:
    store = Store(url)
    store.create_project_from_generation(_generation(annotators * 400), "work", overlap=annotators)
    lat, stop, lock = [], threading.Event(), threading.Lock()

    def annotate(who):
        task = store.next_task("work", who, "ratings")
        while task is not None and not stop.is_set():
            time.sleep(0.1)
            start = time.perf_counter()
            _, task = store.submit_and_next("work", who, "ratings", task.assignment_id, "4", submit_id=task.submit_id)
            with lock:
                lat.append(time.perf_counter() - start)

    team = [threading.Thread(target=annotate, args=(f"a{i}",)) for i in range(annotators)]
    [t.start() for t in team]
    time.sleep(1)
    start = len(lat)
    t0 = time.perf_counter()
    _import(store, rows, chunk, labels)
    took = time.perf_counter() - t0
    during = lat[start:]
    stop.set()
    [t.join() for t in team]
    store.close()
    return during, took


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=100_000, help="rating tasks imported (4 per instruction)")
    ap.add_argument("--annotators", type=int, default=20)
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--labels", action="store_true", help="rating feedback: an LLM rating stored per row too")
    args = ap.parse_args(argv)
    load = os.getloadavg()
    results = {}
    for label, chunk in (("one transaction (before)", None), ("chunks of 250 items", 250)):
        if args.db == "postgres":
            from bench_annotate import _fresh_postgres
            url = _fresh_postgres()
        else:
            url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='sf-import-')) / 'sf.db'}"
        results[label] = measure(url, args.rows, args.annotators, chunk, args.labels)
    print(f"machine: {os.cpu_count()} CPUs, load average {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f} -> "
          f"{'/'.join(f'{x:.1f}' for x in os.getloadavg())}; store {args.db}; {args.rows:,} rows; "
          f"{args.annotators} annotators answering every 0.1 s"
          + ("; with an LLM rating per row" if args.labels else ""))
    for label, (lat, took) in results.items():
        print(f"{label}: import {took:.1f} s; {len(lat)} submits during it, p50={_p(lat, 50):.1f} ms "
              f"p95={_p(lat, 95):.1f} ms max={max(lat) * 1000:.1f} ms")
    (before, _), (after, _) = results.values()
    print(f"p95 ratio before/after: {_p(before, 95) / _p(after, 95):.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
