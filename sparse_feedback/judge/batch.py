"""The judge through the OpenAI Batch API: about half the price, answers within 24 h, resumable.

The questions the cache lacks are written as JSONL (one ``/v1/chat/completions`` request per line,
``custom_id`` = the cache key), split into files under the API's limits, uploaded (``/v1/files``,
purpose ``batch``) and run (``/v1/batches``). The ledger — tables ``batches`` and ``batch_tasks`` in
the same SQLite file as the answer cache — records each file's task keys *before* its upload, then the
file id, then the batch id, so a process killed at any point resumes the same batch and never uploads
the same tasks twice. Answers go into the cache as the output file is read; the judgements themselves
are then assembled by the live engine from the cache, so both paths return the same results.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Callable

from sparse_feedback.config import arg
from sparse_feedback.backends import Completion, RequestError
from sparse_feedback.judge.batch_errors import step
from sparse_feedback.judge.cache import AnswerCache

TERMINAL = ("completed", "failed", "expired", "cancelled")
ENDPOINT = "/v1/chat/completions"


@dataclass
class BatchOptions:
    """How batches are split, polled and retried; also the ``--batch-*`` arguments of the judge command."""

    batch_max_lines: int = arg("requests per uploaded file (the API's limit)", default=50_000)
    batch_max_bytes: int = arg("bytes per uploaded file (the API's limit)", default=100_000_000)
    batch_poll: float = arg("first wait between status checks in seconds, growing 1.5x", default=10.0)
    batch_max_poll: float = arg("longest wait between status checks in seconds", default=300.0)
    batch_retry: str = arg("failed and unparsable answers: a new, smaller batch, or the live endpoint",
                           default="batch", meta={"choices": ["batch", "live"]})
    batch_rounds: int = arg("retry batches after the first", default=2)


def split_lines(lines: list[bytes], max_lines: int, max_bytes: int) -> list[list[bytes]]:
    """Consecutive groups of lines, each within both limits.

    >>> [len(g) for g in split_lines([b"x" * 10] * 5, max_lines=2, max_bytes=1000)]
    [2, 2, 1]
    >>> [len(g) for g in split_lines([b"x" * 10] * 5, max_lines=9, max_bytes=25)]
    [2, 2, 1]
    """
    groups: list[list[bytes]] = []
    size = 0
    for line in lines:
        if not groups or len(groups[-1]) >= max_lines or size + len(line) > max_bytes:
            groups.append([])
            size = 0
        groups[-1].append(line)
        size += len(line)
    return groups


class Ledger:
    """Submitted batch files and their task keys, in the cache's SQLite file."""

    COLUMNS = ("id", "base_url", "model", "file_id", "batch_id", "status", "total", "completed", "failed",
               "created", "ingested")

    def __init__(self, path):
        self.path = path
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS batches (id TEXT PRIMARY KEY, base_url TEXT, model TEXT, "
                         "file_id TEXT, batch_id TEXT, status TEXT, total INTEGER, completed INTEGER, "
                         "failed INTEGER, created REAL, ingested INTEGER DEFAULT 0)")
        self._db.execute("CREATE TABLE IF NOT EXISTS batch_tasks (submission TEXT, key TEXT, "
                         "PRIMARY KEY (submission, key))")

    def add(self, base_url: str, model: str, keys: list[str]) -> str:
        """A new submission with its keys, committed in one transaction; returns its id."""
        sub = uuid.uuid4().hex
        self._db.execute("BEGIN IMMEDIATE")
        self._db.execute("INSERT INTO batches (id, base_url, model, status, total, completed, failed, created) "
                         "VALUES (?, ?, ?, 'uploading', ?, 0, 0, ?)", (sub, base_url, model, len(keys), time.time()))
        self._db.executemany("INSERT INTO batch_tasks VALUES (?, ?)", [(sub, k) for k in keys])
        self._db.execute("COMMIT")
        return sub

    def set(self, sub: str, **fields) -> None:
        assignments = ", ".join(f"{name} = ?" for name in fields)
        self._db.execute(f"UPDATE batches SET {assignments} WHERE id = ?", (*fields.values(), sub))

    def rows(self, where: str = "1", params: tuple = ()) -> list[dict]:
        cursor = self._db.execute(f"SELECT {', '.join(self.COLUMNS)} FROM batches WHERE {where} ORDER BY created",
                                  params)
        return [dict(zip(self.COLUMNS, row)) for row in cursor]

    def open(self, base_url: str, model: str) -> list[dict]:
        """Submissions to this server and model whose results are not yet in the cache."""
        return self.rows("base_url = ? AND model = ? AND ingested = 0", (base_url, model))

    def find(self, batch_or_submission: str) -> dict | None:
        found = self.rows("batch_id = ? OR id = ?", (batch_or_submission, batch_or_submission))
        return found[0] if found else None

    def keys(self, sub: str) -> list[str]:
        return [k for (k,) in self._db.execute("SELECT key FROM batch_tasks WHERE submission = ?", (sub,))]

    def close(self) -> None:
        self._db.close()


class _Collect:
    """A stand-in backend that records each question the cache cannot answer, and sends nothing."""

    def __init__(self, backend, answers: dict | None = None):
        self.name, self.model, self.params, self.secrets = backend.name, backend.model, backend.params, backend.secrets
        self.questions: dict[str, list[dict]] = {}
        self.errors = answers or {}

    async def complete(self, messages, choices=()) -> Completion:
        from sparse_feedback.judge.cache import cache_key

        key = cache_key(self.name, self.model, messages, self.params)
        self.questions[key] = list(messages)
        raise RequestError(self.errors.get(key, "not answered by the batch"))

    async def aclose(self) -> None:
        pass


def pending_questions(kind, tasks, backend, cache, proto, errors: dict | None = None):
    """(questions the cache lacks as {key: messages}, the engine's result with those as failures)."""
    from sparse_feedback.judge.engine import JudgeConfig, ajudge

    collect = _Collect(backend, errors)
    result = asyncio.run(ajudge(kind, tasks, collect, cache, proto, JudgeConfig(max_retries=0)))
    result.stats.requests = 0
    return collect.questions, result


def request_line(key: str, backend, messages: list[dict]) -> bytes:
    body = {"model": backend.model, "messages": messages, **backend.params}
    return (json.dumps({"custom_id": key, "method": "POST", "url": ENDPOINT, "body": body},
                       ensure_ascii=False) + "\n").encode()


def client_for(backend):
    """A synchronous OpenAI client for the files and batches endpoints of the judge's server."""
    import openai

    return openai.OpenAI(api_key=(backend.secrets or ("EMPTY",))[0], base_url=backend.base_url, max_retries=3,
                         timeout=backend.timeout)


class BatchRun:
    """Submit, resume, poll and read the batches of one judge run."""

    def __init__(self, backend, cache: AnswerCache, parse, options: BatchOptions, log: Callable[[str], None]):
        self.backend, self.cache, self.parse, self.options, self.log = backend, cache, parse, options, log
        self.client = client_for(backend)
        self.ledger = Ledger(cache.path)
        self.errors: dict[str, str] = {}  # key → why the batch did not answer it
        self.left: list[str] = []  # what expired or cancelled batches left unanswered
        self.usage = [0, 0]
        self.submitted = 0  # requests uploaded by this run

    # ------------------------------------------------------------ submit / resume
    def submit(self, questions: dict[str, list[dict]]) -> None:
        self.submitted += len(questions)
        lines = [request_line(k, self.backend, m) for k, m in questions.items()]
        keys = list(questions)
        start = 0
        for group in split_lines(lines, self.options.batch_max_lines, self.options.batch_max_bytes):
            sub = self.ledger.add(self.backend.base_url, self.backend.model, keys[start:start + len(group)])
            start += len(group)
            self._upload_and_create(self.ledger.find(sub), b"".join(group))

    def _filename(self, sub: str) -> str:
        return f"sparse-feedback-{sub}.jsonl"

    def _upload_and_create(self, row: dict, data: bytes | None = None) -> None:
        sub, file_id, url = row["id"], row["file_id"], self.backend.base_url
        with step(url, "upload"):
            if file_id is None:  # killed around the upload: adopt the file if it arrived, else upload it
                file_id = next((f.id for f in self.client.files.list(purpose="batch")
                                if f.filename == self._filename(sub)), None)
            if file_id is None:
                if data is None:
                    raise RuntimeError(f"submission {sub} lost its file before upload")
                file_id = self.client.files.create(file=(self._filename(sub), data), purpose="batch").id
        self.ledger.set(sub, file_id=file_id)
        with step(url, "create"):
            batch = next((b for b in self.client.batches.list()
                          if (b.metadata or {}).get("sparse_feedback") == sub), None)
            if batch is None:
                batch = self.client.batches.create(input_file_id=file_id, endpoint=ENDPOINT,
                                                   completion_window="24h", metadata={"sparse_feedback": sub})
            batch_id, status = batch.id, batch.status
        self.ledger.set(sub, batch_id=batch_id, status=status)
        self.log(f"batch {batch.id}: submitted {row['total']} requests")

    def resume(self, questions: dict) -> dict:
        """Finish interrupted submissions; returns the questions no open batch covers."""
        covered: set[str] = set()
        for row in self.ledger.open(self.backend.base_url, self.backend.model):
            keys = self.ledger.keys(row["id"])
            if row["batch_id"] is None:
                data = b"".join(request_line(k, self.backend, questions[k]) for k in keys if k in questions)
                self._upload_and_create(row, data if len(data) else None)
            covered.update(keys)
        return {k: m for k, m in questions.items() if k not in covered}

    # ------------------------------------------------------------ wait / read
    def wait(self) -> None:
        """Poll every open batch with back-off until each ends; read each one's files as it ends."""
        delay = self.options.batch_poll
        while True:
            rows = self.ledger.open(self.backend.base_url, self.backend.model)
            if not rows:
                return
            for row in rows:
                with step(self.backend.base_url, "poll", row["batch_id"]):
                    batch = self.client.batches.retrieve(row["batch_id"])
                    counts = batch.request_counts
                    done, failed = (counts.completed, counts.failed) if counts else (0, 0)
                self.ledger.set(row["id"], status=batch.status, completed=done, failed=failed)
                self.log(f"batch {batch.id}: {batch.status}, {counts.completed if counts else 0}/"
                         f"{counts.total if counts else row['total']} completed, "
                         f"{counts.failed if counts else 0} failed")
                if batch.status in TERMINAL:
                    self._read(row, batch)
            if self.ledger.open(self.backend.base_url, self.backend.model):
                time.sleep(delay)
                delay = min(self.options.batch_max_poll, delay * 1.5)

    def _read(self, row: dict, batch) -> None:
        keys = set(self.ledger.keys(row["id"]))
        answered: set[str] = set()
        for file_id in (batch.output_file_id, batch.error_file_id):
            if file_id:
                with step(self.backend.base_url, "download", batch.id):
                    answered |= self._ingest(self.client.files.content(file_id).text)
        if batch.status == "failed":
            reason = "; ".join(e.message or "" for e in (batch.errors.data if batch.errors else []) or [])
            for key in keys - answered:
                self.errors[key] = f"batch {batch.id} failed: {reason or 'no reason given'}"
        elif batch.status in ("expired", "cancelled"):
            self.left += sorted(keys - answered)
            for key in keys - answered:
                self.errors[key] = f"batch {batch.id} {batch.status} before answering"
        self.ledger.set(row["id"], ingested=1)

    def _ingest(self, text: str) -> set[str]:
        """Output or error file lines → answers committed to the cache (parsable ones) or errors."""
        seen, rows = set(), []
        for line in text.splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            key, response = item["custom_id"], item.get("response") or {}
            seen.add(key)
            body = response.get("body") or {}
            if item.get("error") or response.get("status_code") != 200:
                error = item.get("error") or body.get("error") or {}
                self.errors[key] = f"HTTP {response.get('status_code')}: {error.get('message', error)}"[:300]
                continue
            try:
                text_ = body["choices"][0]["message"]["content"] or ""
            except (KeyError, IndexError, TypeError):
                self.errors[key] = "malformed reply (no choices[0].message.content)"
                continue
            usage = body.get("usage") or {}
            tokens = (int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))
            self.usage[0] += tokens[0]
            self.usage[1] += tokens[1]
            if self.parse(text_) is None:
                self.errors[key] = f"unparsable answer: {text_[:200]!r}"
                continue
            rows.append((key, self.backend.model, text_, None, tokens))
            self.errors.pop(key, None)
        if rows:
            self.cache.put_many(rows)
        return seen

    def close(self) -> None:
        self.ledger.close()
        self.client.close()


def judge_batch(kind: str, tasks, backend, cache: AnswerCache, template=None, config=None,
                options: BatchOptions | None = None, log: Callable[[str], None] | None = None,
                callback=None, show_progress: bool | None = None, budget=None):
    """Judge ``tasks`` through the Batch API; returns the same :class:`JudgeResult` as :func:`judge`.

    ``budget`` (a :class:`~sparse_feedback.judge.costs.Budget`) keeps the submitted requests within
    ``--max-cost``; what does not fit is reported as not sent."""
    from sparse_feedback.judge.engine import judge
    from sparse_feedback.judge.protocols import JudgeProtocol, protocol

    options = options or BatchOptions()
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    proto = template if isinstance(template, JudgeProtocol) else protocol(kind, template)
    if getattr(backend, "base_url", None) is None:
        raise ValueError("the Batch API needs an OpenAI-compatible server (--backend openai with --base-url)")
    run = BatchRun(backend, cache, proto.parse, options, log)
    skipped: dict[str, str] = {}
    cached = None
    try:
        for round_ in range(1 + options.batch_rounds):
            questions, before = pending_questions(kind, tasks, backend, cache, proto)
            cached = before.stats.cached if cached is None else cached
            new = run.resume(questions)
            if round_ and run.left:
                break  # an expired or cancelled batch: keep what finished, say what is left
            if budget is not None:
                new, over = budget.fit(new)
                skipped.update({k: "not sent: --max-cost would be exceeded" for k in over})
            if new and (round_ == 0 or options.batch_retry == "batch"):
                run.submit(new)
            run.wait()
            if options.batch_retry == "live" or not run.errors:
                break
        if run.left:
            log(f"{len(run.left)} question(s) left unanswered by expired or cancelled batches; "
                "rerun to submit them again")
        if options.batch_retry == "live" and not run.left:
            result = judge(kind, tasks, backend, cache, proto, config, callback=callback, show_progress=show_progress)
        else:
            _, result = pending_questions(kind, tasks, backend, cache, proto, {**run.errors, **skipped})
        result.stats.prompt_tokens += run.usage[0]
        result.stats.completion_tokens += run.usage[1]
        result.stats.requests, result.stats.cached = run.submitted, min(cached or 0, result.stats.cached)
        result.extras["left"] = len(run.left)
        return result
    finally:
        run.close()


def write_batch_file(kind, tasks, backend, cache, proto, path) -> int:
    """The JSONL the Batch API would get (what the cache lacks), for another runner such as vLLM's
    ``run_batch``; returns the number of requests written."""
    questions, _ = pending_questions(kind, tasks, backend, cache, proto)
    with open(path, "wb") as out:
        out.writelines(request_line(k, backend, m) for k, m in questions.items())
    return len(questions)


def read_batch_file(kind, tasks, backend, cache, proto, path):
    """Answers from a batch output file (OpenAI's or vLLM's ``run_batch`` format) into the cache; returns
    the run's :class:`JudgeResult`, sending nothing (what the file lacks is reported as failed)."""
    run = BatchRun.__new__(BatchRun)  # only the reading half: no client, no ledger
    run.backend, run.cache, run.parse, run.errors, run.usage = backend, cache, proto.parse, {}, [0, 0]
    with open(path, encoding="utf-8") as lines:
        run._ingest(lines.read())
    _, result = pending_questions(kind, tasks, backend, cache, proto, run.errors)
    result.stats.prompt_tokens, result.stats.completion_tokens = run.usage
    return result


def list_batches(cache_path) -> list[dict]:
    """Every batch submitted from this cache, oldest first."""
    ledger = Ledger(cache_path)
    try:
        return ledger.rows()
    finally:
        ledger.close()


def cancel_batch(cache_path, batch_id: str, api_key: str | None = None) -> str:
    """Ask the server to cancel ``batch_id``; what finished stays and is read by the next run."""
    import openai

    ledger = Ledger(cache_path)
    try:
        row = ledger.find(batch_id)
        if row is None or row["batch_id"] is None:
            raise LookupError(f"no batch {batch_id} in {cache_path}")
        client = openai.OpenAI(api_key=api_key or "EMPTY", base_url=row["base_url"], max_retries=3)
        with step(row["base_url"], "cancel", row["batch_id"]):
            status = client.batches.cancel(row["batch_id"]).status
        client.close()
        ledger.set(row["id"], status=status)
        return status
    finally:
        ledger.close()
