"""Server memory per API session: N calls of ``/gradio_api/call/rate_show``, each a new Gradio session (as
scripts and one-shot API clients make), against ``python app.py``; prints the server's RSS growth.

Goal (issue 15): 10,000 such calls grow the server by at most 200 MB. Baseline in the same run: the RSS
growth over the first 200 calls (warm-up: imports, caches), so the figure is the per-session cost.

    python bench/bench_sessions.py [--calls 10000] [--workers 8]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sparse_feedback.store import Store  # noqa: E402
from tests.appserver import small_generation  # noqa: E402
from tests.reliability.rawhttp import named_call, signed_in  # noqa: E402


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_app(home: Path, env_extra: dict | None = None):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "SPARSE_FEEDBACK_HOME": str(home), "SPARSE_FEEDBACK_USERS": "alice:alice-pw:annotator",
           "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False",
           **(env_extra or {})}
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=open(home / "app.log", "w"))
    url = f"http://127.0.0.1:{port}/"
    for _ in range(600):
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("app did not start")


def run(calls: int, workers: int, warmup: int = 200) -> dict:
    home = Path(tempfile.mkdtemp(prefix="sf-sessions-"))
    store = Store(f"sqlite:///{home / 'sparse_feedback.db'}")
    store.create_project_from_generation(small_generation(50, 4), "p", overlap=3)
    store.close()
    proc, url = start_app(home)
    try:
        clients = [signed_in(url, "alice", "alice-pw") for _ in range(workers)]

        def call(i):  # a /gradio_api/call request is a new session every time
            result = named_call(clients[i % workers], "rate_show", ["p", ""])
            assert result.get("success"), result

        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(call, range(warmup)))
            time.sleep(1)
            start, t0 = rss_mb(proc.pid), time.perf_counter()
            list(pool.map(call, range(calls)))
            wall = time.perf_counter() - t0
        time.sleep(1)
        end = rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)
    return {"start_mb": start, "end_mb": end, "growth_mb": end - start, "calls": calls, "wall_s": wall}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=8)
    args = ap.parse_args(argv)
    load = os.getloadavg()
    r = run(args.calls, args.workers)
    per = r["growth_mb"] * 1024 / max(1, r["calls"])
    print(f"machine: {os.cpu_count()} CPUs, load average {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}")
    print(f"{r['calls']} new-session rate_show calls in {r['wall_s']:.0f} s: server RSS {r['start_mb']:.0f} -> "
          f"{r['end_mb']:.0f} MB (+{r['growth_mb']:.0f} MB, {per:.1f} KB per session); "
          f"scaled to 10,000: +{per * 10_000 / 1024:.0f} MB (goal <= 200 MB: "
          f"{'met' if per * 10_000 / 1024 <= 200 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
