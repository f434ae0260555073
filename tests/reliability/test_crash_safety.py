"""kill -9 the app mid-work: every acknowledged answer survives exactly once, clients resend what was not
acknowledged under the same submit id, queues resume; a judge run cut off is shown as interrupted and a
rerun asks only what its cache lacks."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter

import httpx
import pandas as pd
import pytest

from sparse_feedback.store import Store
from sparse_feedback.store.schema import annotations
from tests.databases import fresh_url
from tests.fake_openai import FakeJudgeServer
from tests.reliability.appproc import AppProcess
from tests.reliability.rawhttp import named_call, signed_in

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(240)]
ANNOTATORS = 20


def _generation(n_items: int, n_responses: int = 4) -> pd.DataFrame:
    return pd.DataFrame([(f"Crash test instruction {i}", "", [f"Response {j} of {i}" for j in range(n_responses)])
                         for i in range(n_items)], columns=["instruction", "input", "responses"], dtype=object)


def _store(home, url: str | None = None) -> Store:
    return Store(url or f"sqlite:///{home / 'sparse_feedback.db'}")


def _home_with(tmp_path, project: str, n_items: int, url: str | None = None):
    """A data home whose store (``url``, else SQLite in the home) holds ``project`` with ``n_items`` × 4 rating
    tasks, overlap 1."""
    home = tmp_path / "home"
    home.mkdir()
    store = _store(home, url)
    store.create_project_from_generation(_generation(n_items), project, overlap=1)
    store.close()
    return home


class Annotator(threading.Thread):
    """Rates until the queue is empty. A submit that got no answer is kept and resent, same ticket and so
    the same submit id, once the server is back; ``acked`` holds the submit ids the server acknowledged."""

    def __init__(self, url: str, name: str, server_up: threading.Event):
        super().__init__(daemon=True)
        self.url, self.name, self.server_up = url, name, server_up
        self.acked: list[str] = []
        self.resent = 0
        self.error: str | None = None

    def _call(self, api_name: str, data: list) -> dict:
        while True:
            self.server_up.wait(120)
            try:
                result = named_call(self.http, api_name, data)
                if result["status"] == 200 and result["error"] != "stream ended without a result":
                    return result
            except httpx.HTTPError:
                pass
            if "submit" in api_name:
                self.resent += 1
            time.sleep(0.2)
            try:  # a restarted server has forgotten the session: sign in again
                self.http = signed_in(self.url, self.name, f"{self.name}-pw")
            except (httpx.HTTPError, AssertionError):
                pass

    def run(self) -> None:
        try:
            self.http = signed_in(self.url, self.name, f"{self.name}-pw")
            ticket = self._call("rate_show", ["crash", ""])["data"][5]
            while ticket:
                result = self._call("rate_submit", ["crash", "", ticket, str(1 + len(self.acked) % 7), "", []])
                if not result["success"]:
                    raise AssertionError(result["error"])
                self.acked.append(ticket["submit_id"])
                ticket = result["data"][5]
        except Exception as err:  # reported by the test
            self.error = repr(err)


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request, tmp_path):
    """None (SQLite in the data home) or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield None
        return
    url, db = fresh_url("postgres", tmp_path)
    yield url
    db.close()


@pytest.mark.slow
def test_kill_9_while_20_annotators_submit_loses_nothing_and_doubles_nothing(tmp_path, store_url):
    home = _home_with(tmp_path, "crash", 40, store_url)  # 160 rating tasks
    users = ",".join(f"u{i}:u{i}-pw:annotator" for i in range(ANNOTATORS))
    up = threading.Event()
    env = {"SPARSE_FEEDBACK_DB": store_url} if store_url else {}
    with AppProcess(home, users, **env) as app:
        up.set()
        team = [Annotator(app.url, f"u{i}", up) for i in range(ANNOTATORS)]
        for a in team:
            a.start()
        while sum(len(a.acked) for a in team) < 50:
            time.sleep(0.02)
        up.clear()
        app.kill9()
        acked_before_kill = {s for a in team for s in a.acked}
        store = _store(home, store_url)
        with store.db.read() as conn:
            at_kill = conn.execute(annotations.select()).all()
        store.close()
        assert acked_before_kill <= {r.submit_id for r in at_kill}  # acknowledged means committed
        app.start()
        up.set()
        for a in team:
            a.join(180)
        errors = [a.error for a in team if a.error]
    assert errors == [] and not any(a.is_alive() for a in team)
    store = _store(home, store_url)
    with store.db.read() as conn:
        rows = conn.execute(annotations.select()).all()
    store.close()
    acked = [s for a in team for s in a.acked]
    assert sum(a.resent for a in team) > 0  # some submits really were cut off and resent
    assert len(acked) == len(set(acked)) == len(rows) == 160  # the queues resumed and ran dry
    assert {r.submit_id for r in rows} == set(acked)
    assert max(Counter((r.annotator, r.task_id) for r in rows).values()) == 1
    assert max(Counter(r.task_id for r in rows).values()) == 1  # overlap 1: no task answered twice


@pytest.mark.slow
def test_a_judge_run_killed_with_the_app_is_interrupted_and_resumes_from_its_cache(tmp_path):
    home = _home_with(tmp_path, "judged", 50)  # 200 rating tasks
    with FakeJudgeServer(latency=0.1) as judge, AppProcess(home, "root:root-pw:admin") as app:
        admin = signed_in(app.url, "root", "root-pw")
        args = ["", "judged", "ratings", judge.base_url, "fake-judge", "", "Live", "auto"]
        runner = threading.Thread(target=lambda: _ignore_errors(named_call, admin, "llm_run", args), daemon=True)
        runner.start()
        while len(judge.answered_prompts()) < 40:
            time.sleep(0.01)
        app.kill9()
        first_run = set(judge.answered_prompts())
        judge.reset()
        store = _store(home)
        job = store.jobs("judge").iloc[0]
        assert job["status"] == "running" and store.llm_ratings("judged").empty  # cut off mid-run
        store.close()

        app.start()
        store = _store(home)
        job = store.jobs("judge").iloc[0]
        assert job["status"] == "interrupted" and "ended without finishing" in job["message"]
        with sqlite3.connect(home / "judge_cache.db") as db:
            cached = db.execute("SELECT COUNT(*) FROM answers").fetchone()[0]
        assert 0 < cached < 200  # answers in flight at the kill were paid for but lost; the rest kept
        admin = signed_in(app.url, "root", "root-pw")
        result = named_call(admin, "llm_run", args)
        resent = [s.prompt for s in judge.log]
        assert result["success"], result
        assert f"{cached} of 200 tasks from cache" in result["data"][0]
        assert len(resent) == 200 - cached == len(set(resent))  # only what the cache lacked, each once
        assert len(set(resent) & first_run) <= len(first_run) - cached  # at most answers lost in flight
        assert len(store.llm_ratings("judged")) == 200
        assert list(store.jobs("judge")["status"]) == ["done", "interrupted"]
        store.close()


def _ignore_errors(fn, *args):
    try:
        fn(*args)
    except Exception:
        pass  # the server was killed under it
