"""Shared pieces of the judge tests: task tables and a backend pointed at the fake server."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from sparse_feedback.judge import JudgeConfig, make_backend

FAST = JudgeConfig(concurrency=8, max_retries=3, backoff=0.01, max_backoff=0.05)


def rating_tasks(n: int, tag: str = "") -> pd.DataFrame:
    return pd.DataFrame({"instruction": [f"{tag}Describe item {i}." for i in range(n)],
                         "input": ["" if i % 2 else f"context {i}" for i in range(n)],
                         "response": [f"Item {i} is a thing." for i in range(n)]})


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False, quoting=csv.QUOTE_MINIMAL)
    return path


def backend(server, timeout: float = 0.5, key: str | None = None):
    return make_backend("openai", "fake-judge", base_url=server.base_url, api_key=key, timeout=timeout)


def judge_args(server, tasks: Path, out: Path, cache: Path, *extra) -> list:
    return ["judge", "ratings", "--input", tasks, "--output", out, "--model", "fake-judge",
            "--base-url", server.base_url, "--cache", cache, "--timeout", "0.5", "--backoff", "0.01",
            "--max-backoff", "0.05", "--max-retries", "3", "--concurrency", "8", "--no-progress", *extra]
