"""50 concurrent annotators × 20 items through the app's HTTP API, against ``python app.py``.

Prints p50/p95 submit latency (goal: p95 ≤ 150 ms), the baseline of the same submits straight into
the store (no HTTP) measured in the same run, and checks stored rows == acknowledged submissions.
``--think`` is each annotator's mean pause between answers (uniform 0.5-1.5x; people read before they
click); ``--think 0`` is a closed-loop stress test where latency is bounded by throughput.

    python bench/bench_annotate.py [--annotators 50] [--items 20] [--think 1.0]
    python bench/bench_annotate.py --minutes 5      # each annotator keeps going for 5 minutes
    python bench/bench_annotate.py --synchronous NORMAL   # the store's SQLite durability setting
    python bench/bench_annotate.py --db both   # SQLite, then PostgreSQL at $SPARSE_FEEDBACK_TEST_PG (.ci/postgres)
    python bench/bench_annotate.py --during-import 1000000   # an admin imports a CSV of that many rows meanwhile
    python bench/bench_annotate.py --during-import 1000000 --minutes 8 --import-after 60   # + a same-run baseline
    python bench/bench_annotate.py --during-import 1000000 --preview ...   # the admin also clicks Preview first
    python bench/bench_annotate.py --gold 10 --minutes 2   # a study: one gold task in every 10 served (issue 21)
    python bench/bench_annotate.py --strategy uncertainty   # the queue served in a stored order (a tiny random RM)

The machine's load average is printed with the figures: on a shared 2-core machine, other work moves them.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sparse_feedback.store import Store  # noqa: E402
from sparse_feedback.study import assignment  # noqa: E402


def _generation(n_items: int, n_responses: int = 5) -> pd.DataFrame:
    return pd.DataFrame([(f"Bench instruction {i}", "", [f"Response {j} to instruction {i}." for j in range(n_responses)])
                         for i in range(n_items)], columns=["instruction", "input", "responses"], dtype=object)


def _p(values, q):
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000 if len(values) > 1 else values[0] * 1000


class GradioAnnotator:
    """One annotator through gradio_client."""

    def __init__(self, url: str, user: str, password: str):
            self.client = Client(url, auth=(user, password), verbose=False)

    def call(self, api_name: str, *data):
        return self.client.predict(*data, api_name=f"/{api_name}")


class HttpAnnotator:
    """One annotator as a browser tab: signed-in cookie, one Gradio session, queue/join + event stream."""

    def __init__(self, url: str, user: str, password: str):
        from tests.reliability.rawhttp import signed_in

        self.http = signed_in(url, user, password)
        self.session = uuid.uuid4().hex
        self.fn_index = {d["api_name"]: d["id"] for d in self.http.get("/config").json()["dependencies"]}

    def call(self, api_name: str, *data):
        from tests.reliability.rawhttp import queue_call

        result = queue_call(self.http, self.fn_index[api_name], list(data), self.session)
        if not result.get("success"):
            raise RuntimeError(f"{api_name}: {result}")
        return result["data"]


def _import_csv(path: Path, rows: int) -> Path:
    """A rating-tasks CSV of ``rows`` rows (4 responses per instruction), like a large upload."""
    n = rows // 4
    frame = pd.DataFrame({"instruction": [f"Imported instruction {i // 4}: explain item {i // 4} briefly." for i in range(n * 4)],
                          "input": "", "response": [f"Response {i % 4} to item {i // 4}, a sentence or two." for i in range(n * 4)]})
    frame.to_csv(path, index=False)
    return path


def _import_through_the_app(url: str, csv: Path, result: dict, after: float = 0.0, preview: bool = False) -> None:
    """After ``after`` seconds, upload ``csv`` (``preview``: and preview it) and create a project from it as an
    admin would in the Import tab; times each step."""
    time.sleep(after)  # the annotators' submits before it are the same run's figure without an import
    from tests.reliability.rawhttp import named_call, signed_in

    admin = signed_in(url, "bench-admin", "bench-admin-pw")
    admin.timeout = 3600
    start = result["start"] = time.perf_counter()
    with open(csv, "rb") as f:
        uploaded = admin.post("/gradio_api/upload", files=[("files", (csv.name, f, "text/csv"))]).json()[0]
    result["uploaded"] = time.perf_counter()  # then the import job: read the file, write the project
    data = {"path": uploaded, "meta": {"_type": "gradio.FileData"}, "orig_name": csv.name}
    if preview:
        shown = named_call(admin, "import_preview", ["", data, "rating tasks"])
        result.update(previewed=time.perf_counter(), preview_ok="Read as" in str(shown.get("data")))
    out = named_call(admin, "import_create", ["", data, "rating tasks", "imported", 1, "llm"])
    result.update(seconds=time.perf_counter() - start, end=time.perf_counter(), ok=bool(out.get("success")),
                  message=str(out)[:300])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _load(avg) -> str:
    return "/".join(f"{x:.1f}" for x in avg)


def _fresh_postgres() -> str:
    """A new database on the server at ``$SPARSE_FEEDBACK_TEST_PG`` (left in place: the cluster is throwaway)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    server = os.environ.get("SPARSE_FEEDBACK_TEST_PG")
    if not server:
        raise SystemExit("--db postgres needs $SPARSE_FEEDBACK_TEST_PG (eval \"$(.ci/postgres)\")")
    name = f"sf_bench_{os.getpid()}_{int(time.time() * 1000) % 10**8}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def _store_url(backend: str, home: Path, name: str) -> str:
    return _fresh_postgres() if backend == "postgres" else f"sqlite:///{home / name}"


def _bench_project(store, n_items: int, gold_every: int, strategy: str = "random", home: Path | None = None) -> None:
    """The bench project (overlap 5); with ``gold_every``, a study: gold on the first tasks (one gold task per 20
    items, at least 5), one in every ``gold_every`` served; ``strategy``: its queue order, computed and stored."""
    store.create_project_from_generation(_generation(max(1, n_items)), "bench", overlap=5)
    if gold_every:
        from sparse_feedback.store.schema import rating_tasks

        with store.db.read() as conn:
            ids = conn.execute(rating_tasks.select().with_only_columns(rating_tasks.c.id).order_by(rating_tasks.c.id)
                               .limit(max(5, n_items // 20))).scalars().all()
        store.set_gold("bench", "bench-admin", [("ratings", i, "4") for i in ids])
        store.set_study_settings("bench", "bench-admin", gold_every=gold_every)
    if strategy != "random":
        _order(store, strategy, home)


def _stored(store) -> int:
    """Every current answer in the bench project (gold ones too: they are acknowledged like any other)."""
    return len(store.study_answers("bench"))


def _store_baseline(url: str, annotators: int, items: int, think: float, gold_every: int = 0,
                    strategy: str = "random", home: Path | None = None) -> list[float]:
    """The same workload (same annotators, pauses and answers, same queue strategy) straight into a separate store,
    no HTTP: the floor the app adds to (the next task chosen by the study's rules, as the app does)."""
    store = Store(url)
    _bench_project(store, annotators * items // 5, gold_every, strategy, home)
    lat, lock = [], threading.Lock()

    def work(who):
        task = assignment.next_task(store, "bench", who, "ratings")
        for _ in range(items):
            if think:
                time.sleep(random.uniform(0.5, 1.5) * think)
            start = time.perf_counter()  # what the app's submit does: store the answer, take the next task
            _, task = assignment.submit_and_next(store, "bench", who, "ratings", task.assignment_id, "4",
                                                 submit_id=task.submit_id)
            with lock:
                lat.append(time.perf_counter() - start)

    threads = [threading.Thread(target=work, args=(f"u{i}",)) for i in range(annotators)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    store.close()
    return lat


def _wait_port(port: int, proc, timeout: float = 120) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise SystemExit(f"app exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise SystemExit("app did not start")


def _order(store, strategy: str, home: Path) -> None:
    """Set the bench project's strategy and compute its stored order here, before the app starts."""
    from sparse_feedback.jobs.selection import run_selection

    model = None
    if strategy == "uncertainty":
        from tests.tiny_models import tiny_causal_lm, tiny_reward_model

        model = home / "rm"
        model = str(model if model.exists() else tiny_reward_model(model, tiny_causal_lm(home / "rm-base")))
    store.set_queue_strategy("bench", strategy, reward_model=model)
    started = time.perf_counter()
    line = run_selection(store, "bench")
    print(f"queue order: {line} in {time.perf_counter() - started:.1f} s (before the run)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--annotators", type=int, default=50)
    ap.add_argument("--items", type=int, default=20)
    ap.add_argument("--think", type=float, default=1.0, help="mean seconds between an annotator's answers")
    ap.add_argument("--minutes", type=float, default=0.0,
                    help="run for this long instead of --items answers per annotator")
    ap.add_argument("--client", choices=("http", "gradio"), default="http",
                    help="http: Gradio's protocol spoken with httpx, one session per annotator as a browser does "
                         "(light); gradio: one gradio_client.Client per annotator (about 4x the server's CPU "
                         "per submit, on the same cores)")
    ap.add_argument("--synchronous", choices=("FULL", "NORMAL"), default=None,
                    help="SQLite synchronous setting for the app's store (default: the app's own, FULL)")
    ap.add_argument("--during-import", type=int, default=0, metavar="ROWS",
                    help="an admin imports a rating-tasks CSV of ROWS rows through the app while the annotators work")
    ap.add_argument("--preview", action="store_true",
                    help="the admin previews the upload (Import tab's Preview) before creating the project")
    ap.add_argument("--import-after", type=float, default=0.0, metavar="SECONDS",
                    help="start the import this long after the annotators (their submits before it are the "
                         "baseline through the app; use with --minutes)")
    ap.add_argument("--db", choices=("sqlite", "postgres", "both"), default="sqlite",
                    help="the app's store: SQLite in a temp home, a fresh database on $SPARSE_FEEDBACK_TEST_PG, "
                         "or one run on each")
    ap.add_argument("--gold", type=int, default=0, metavar="N",
                    help="a study: gold tasks mixed in, one in every N served (0: none)")
    ap.add_argument("--strategy", choices=("random", "disagreement", "uncertainty", "coverage"), default="random",
                    help="the project's queue strategy; its order is computed (uncertainty: under a tiny random-weight "
                         "RM, as the submit path does not depend on which RM) and stored before the annotators start")
    args = ap.parse_args(argv)
    if args.minutes:  # enough tasks for everyone to keep answering the whole time
        args.items = int(args.minutes * 60 / max(args.think * 0.5, 0.05)) + 10
    backends = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    codes = [_bench(args, backend) for backend in backends]
    return max(codes)


def _bench(args, backend: str) -> int:
    print(f"== store: {backend}")
    home = Path(tempfile.mkdtemp(prefix="sf-bench-"))
    users = ",".join([f"u{i}:pw{i}:annotator" for i in range(args.annotators)] + ["bench-admin:bench-admin-pw:admin"])
    csv = _import_csv(home / "import.csv", args.during_import) if args.during_import else None
    store_url = _store_url(backend, home, "sparse_feedback.db")
    store = Store(store_url)
    # overlap 5 and enough items that each annotator has at least ``items`` rating tasks
    _bench_project(store, args.annotators * args.items // 5, args.gold, args.strategy, home)
    store.close()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "SPARSE_FEEDBACK_HOME": str(home), "SPARSE_FEEDBACK_USERS": users,
           "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False",
           "SPARSE_FEEDBACK_DB": store_url}
    if args.synchronous:
        env["SPARSE_FEEDBACK_SQLITE_SYNCHRONOUS"] = args.synchronous
    load_before = os.getloadavg()
    server_log = open(home / "app.log", "w+")  # a file, not a pipe: a full pipe would stall the server
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=server_log, text=True)
    try:
        _wait_port(port, proc)
        url = f"http://127.0.0.1:{port}/"
        make = GradioAnnotator if args.client == "gradio" else HttpAnnotator
        clients = [make(url, f"u{i}", f"pw{i}") for i in range(args.annotators)]
        lat, when, acked, errors, lock = [], [], 0, [], threading.Lock()
        barrier = threading.Barrier(args.annotators)

        def annotate(i):
            nonlocal acked
            c = clients[i]
            try:
                view = c.call("rate_show", "bench", "")
                barrier.wait()
                deadline = time.monotonic() + args.minutes * 60 if args.minutes else None
                for _ in range(args.items):
                    if deadline is not None and time.monotonic() >= deadline:
                        break
                    if args.think:
                        time.sleep(random.uniform(0.5, 1.5) * args.think)
                    start = time.perf_counter()
                    view = c.call("rate_submit", "bench", "", view[5], "5", "", [])
                    with lock:
                        lat.append(time.perf_counter() - start)
                        when.append(start)
                        acked += 1
            except Exception as err:
                with lock:
                    errors.append(f"u{i}: {err!r}")

        t0, server_cpu0, client_cpu0 = time.perf_counter(), _cpu_seconds(proc.pid), sum(os.times()[:2])
        threads = [threading.Thread(target=annotate, args=(i,)) for i in range(args.annotators)]
        imported: dict = {}
        if csv is not None:
            admin = threading.Thread(target=_import_through_the_app,
                                     args=(url, csv, imported, args.import_after, args.preview))
            threads.append(admin)
        [t.start() for t in threads]
        [t.join() for t in threads]
        wall = time.perf_counter() - t0
        server_cpu, client_cpu = _cpu_seconds(proc.pid) - server_cpu0, sum(os.times()[:2]) - client_cpu0
    finally:
        load_after = os.getloadavg()
        proc.terminate()
        proc.wait(30)
        server_log.seek(0)
        stderr = server_log.read()
    store = Store(store_url)
    stored, gold_answers = _stored(store), int(store.study_answers("bench")["gold"].notna().sum())
    store.close()
    base = _store_baseline(_store_url(backend, home, "baseline.db"), args.annotators, min(args.items, 20), args.think,
                           args.gold, args.strategy, home)
    locked = stderr.count("database is locked")
    print(f"machine: {os.cpu_count()} CPUs, load average (1/5/15 min) before {_load(load_before)}, "
          f"at the end {_load(load_after)}; store {backend}"
          + (f" synchronous={args.synchronous or 'FULL (default)'}" if backend == "sqlite" else "") + "; "
          f"client={args.client}" + (f"; gold 1 in {args.gold} ({gold_answers} gold answers)" if args.gold else ""))
    print(f"annotators={args.annotators} think={args.think}s "
          + (f"minutes={args.minutes:g}" if args.minutes else f"items={args.items}")
          + f" submits={len(lat)} wall={wall:.1f}s throughput={len(lat) / wall:.1f}/s")
    if lat:
        print(f"app submit latency: p50={_p(lat, 50):.1f} ms  p95={_p(lat, 95):.1f} ms  max={max(lat) * 1000:.1f} ms "
              f"(goal p95 <= 150 ms: {'met' if _p(lat, 95) <= 150 else 'NOT met'})")
    if lat:
        print(f"CPU per submit: app server {server_cpu / len(lat) * 1000:.1f} ms, "
              f"benchmark clients {client_cpu / len(lat) * 1000:.1f} ms (both on the same cores)")
    print(f"baseline store.submit (no HTTP, same annotators, pauses and strategy): p50={_p(base, 50):.1f} ms  "
          f"p95={_p(base, 95):.1f} ms"
          + (f"  ratio app/store p95={_p(lat, 95) / _p(base, 95):.1f}x" if lat else ""))
    print(f"acknowledged={acked} stored={stored} {'OK' if acked == stored else 'MISMATCH'}  errors={len(errors)}  "
          f"'database is locked' in server log: {locked}")
    for e in errors[:5]:
        print("  ", e)
    if csv is not None:
        print(f"import of {args.during_import:,} rows during the run: "
              + (f"{imported['seconds']:.1f} s, {'ok' if imported['ok'] else 'FAILED: ' + imported['message']}"
                 if imported else "did not finish"))
        after_upload = "previewed" if "previewed" in imported else "uploaded"
        phases = (("the upload and the import ran", "start", "end"), ("the file uploaded", "start", "uploaded"),
                  *((("the preview ran", "uploaded", "previewed"),) if after_upload == "previewed" else ()),
                  ("the import job ran", after_upload, "end"))
        if "previewed" in imported:
            print(f"preview: {imported['previewed'] - imported['uploaded']:.1f} s, "
                  f"{'ok' if imported['preview_ok'] else 'FAILED'}")
        for label, first, last in phases if imported else ():
            during = [x for x, t in zip(lat, when) if imported[first] <= t <= imported.get(last, t)]
            if during:
                print(f"submits while {label}: {len(during)}, p50={_p(during, 50):.1f} ms  p95={_p(during, 95):.1f} ms "
                      f"max={max(during) * 1000:.1f} ms (goal p95 <= 150 ms: {'met' if _p(during, 95) <= 150 else 'NOT met'})")
        for label, outside in (("before the import started", lambda t: t < imported["start"]),
                               ("after the import ended", lambda t: t > imported.get("end", float("inf")))):
            alone = [x for x, t in zip(lat, when) if imported and outside(t)]
            if len(alone) > 1:  # the same app and annotators without an import (--import-after, --minutes)
                print(f"submits {label}: {len(alone)}, p50={_p(alone, 50):.1f} ms  p95={_p(alone, 95):.1f} ms"
                      + (f"; ratio import-job/this p95={_p(during, 95) / _p(alone, 95):.1f}x" if during else ""))
    return 0 if acked == stored and not errors and locked == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
