"""Bench: 2,000 rating tasks against the local fake judge (50 ms per reply).

The engine at concurrency 64 against a sequential one-request-at-a-time loop (the original's
approach, without its sleeps), measured in the same run on a subsample and extrapolated; then the
rerun's request count. The fake runs in a subprocess so the server does not share the client's GIL.
Run: ``python bench/bench_judge.py [--tasks 2000] [--sequential 100]``.

``--rate-limit RPM`` instead runs against a fake with a token-bucket limit of RPM requests per minute
(one second's burst, x-ratelimit headers, 429 + Retry-After) for about ``--seconds``: the adaptive engine
and, in the same run, a fixed ``--concurrency`` without adaptation; it prints each one's 429 share and
answered requests per second against the limit (goal: under 1 % and at least 90 %).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

SERVER = """
import sys, time
sys.path.insert(0, {tests!r})
from fake_openai import FakeJudgeServer
server = FakeJudgeServer(latency={latency}, rpm={rpm}).start()
print(server.port, flush=True)
sys.stdin.read()
"""


def start_server(latency: float, rpm: float | None = None):
    server = subprocess.Popen([sys.executable, "-c", SERVER.format(tests=str(ROOT / "tests"), latency=latency, rpm=rpm)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    return server, f"http://127.0.0.1:{int(server.stdout.readline())}/v1"


def rate_limited(args) -> None:
    from judge_helpers import rating_tasks

    from sparse_feedback.judge import AnswerCache, JudgeConfig, judge_ratings, make_backend

    rate = args.rate_limit / 60
    n = int(rate * (args.seconds + 1))  # one second's burst, then the refill rate
    print(f"limit {args.rate_limit:g} requests/min ({rate:.1f}/s, burst {max(1, rate):.0f}); {n} tasks per run; "
          f"server latency {args.latency * 1000:.0f} ms")
    for label, fixed in (("adaptive", False), (f"fixed concurrency {args.concurrency}", True)):
        server, base_url = start_server(args.latency, args.rate_limit)  # a fresh, full bucket per run
        try:
            config = JudgeConfig(concurrency=args.concurrency, max_retries=20, backoff=0.05, max_backoff=2.0,
                                 fixed_concurrency=fixed)
            backend = make_backend("openai", "bench", base_url=base_url)
            with tempfile.TemporaryDirectory() as tmp, AnswerCache(Path(tmp) / "rl.db") as cache:
                # Warm-up (imports, TLS context, client), untimed; then a second for the bucket to refill.
                judge_ratings(rating_tasks(1, tag="warm-up "), backend, cache=cache, config=config, show_progress=False)
                time.sleep(1.0)
                start = time.perf_counter()
                result = judge_ratings(rating_tasks(n, tag=f"rl {label} "), backend,
                                       cache=cache, config=config, show_progress=False)
                elapsed = time.perf_counter() - start
        finally:
            server.stdin.close()
            server.wait(10)
        stats = result.stats
        # Answers beyond the burst, per second, against the refill rate.
        paced = max(0, stats.answered - max(1, rate)) / elapsed
        print(f"{label:>24}: {stats.answered}/{n} answered in {elapsed:5.1f} s, {stats.requests} requests, "
              f"429s {stats.throttled} ({stats.throttled / max(1, stats.requests):6.1%}), "
              f"throughput {paced:5.1f}/s = {paced / rate:5.1%} of the limit")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=2000)
    ap.add_argument("--sequential", type=int, default=100, help="subsample for the sequential loop")
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--repeats", type=int, default=3, help="engine runs; the median is reported")
    ap.add_argument("--rate-limit", type=float, default=None, metavar="RPM", help="bench pacing under this limit")
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each --rate-limit run")
    args = ap.parse_args()
    if args.rate_limit:
        return rate_limited(args)

    import openai
    from judge_helpers import rating_tasks

    from sparse_feedback.judge import AnswerCache, JudgeConfig, judge_ratings, make_backend, protocol

    server, base_url = start_server(args.latency)
    tasks = rating_tasks(args.tasks, tag="bench ")
    try:
        # Baseline: one request at a time, as the original loop does.
        proto = protocol("ratings")
        client = openai.OpenAI(api_key="EMPTY", base_url=base_url, max_retries=0)
        start = time.perf_counter()
        for row in tasks.head(args.sequential).itertuples():
            messages = proto.messages(instruction=row.instruction, input=row.input, response=row.response)
            reply = client.chat.completions.create(model="bench", messages=messages, temperature=0.0, max_tokens=32)
            assert proto.parse(reply.choices[0].message.content) is not None
        sequential = args.sequential / (time.perf_counter() - start)
        client.close()

        # The engine, from an empty cache each time; the median of --repeats runs (a small shared
        # machine is noisy); then a rerun over the last run's cache.
        with tempfile.TemporaryDirectory() as tmp:
            config = JudgeConfig(concurrency=args.concurrency)
            backend = make_backend("openai", "bench", base_url=base_url)
            rates = []
            for run in range(args.repeats):
                with AnswerCache(Path(tmp) / f"bench{run}.db") as cache:
                    start = time.perf_counter()
                    result = judge_ratings(tasks, backend, cache=cache, config=config, show_progress=False)
                    rates.append(args.tasks / (time.perf_counter() - start))
                    assert result.stats.answered == args.tasks, result.summary()
                    if run == args.repeats - 1:
                        rerun = judge_ratings(tasks, backend, cache=cache, config=config, show_progress=False)
            engine = statistics.median(rates)
    finally:
        server.stdin.close()
        server.wait(10)

    print(f"sequential loop ({args.sequential} tasks, extrapolated): {sequential:8.1f} tasks/s "
          f"-> {args.tasks / sequential:6.1f} s for {args.tasks}")
    print(f"engine, concurrency {args.concurrency} ({args.tasks} tasks):  {engine:8.1f} tasks/s "
          f"-> {args.tasks / engine:6.1f} s; {result.stats.requests} requests "
          f"(median of {args.repeats}: {', '.join(f'{r:.0f}' for r in rates)})")
    print(f"speed-up: {engine / sequential:.1f}x (goal >= 50x)")
    print(f"rerun: {rerun.stats.requests} requests sent, {rerun.stats.cached}/{args.tasks} from cache (goal 0 requests)")


if __name__ == "__main__":
    main()
