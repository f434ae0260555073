"""Imports are jobs of the one runner: a process of its own that reads the handed-over file and writes the
project in chunks. Stopped or killed mid-write, it leaves no project (visible or hidden) and no copy of the
upload; one cut off together with the app is cleaned at the next start-up."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sparse_feedback.jobs import imports, runner
from sparse_feedback.store import Store
from sparse_feedback.store.projects import IMPORTING_PREFIX
from tests.appserver import small_generation

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(180)]


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARSE_FEEDBACK_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
def store(home):
    s = Store(f"sqlite:///{home / 'store.db'}")
    s.create_project_from_generation(small_generation(2, 3), "existing")
    yield s
    s.close()


def rating_tasks_csv(path: Path, rows: int) -> Path:
    """``rows`` rating tasks, 4 responses per instruction."""
    pd.DataFrame({"instruction": [f"Instruction {i // 4}" for i in range(rows)], "input": "",
                  "response": [f"Response {i % 4} to {i // 4}" for i in range(rows)]}).to_csv(path, index=False)
    return path


def hidden_projects(store) -> list[str]:
    with store.db.read() as conn:
        return [n for (n,) in conn.exec_driver_sql("SELECT name FROM projects") if n.startswith(IMPORTING_PREFIX)]


def item_count(store) -> int:
    with store.db.read() as conn:
        return conn.exec_driver_sql("SELECT COUNT(*) FROM items").scalar_one()


def wait_for_writing(directory: Path, timeout: float = 120) -> dict:
    """The job's progress once it has written some chunks, but not all."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = json.loads((directory / runner.PROGRESS_FILE).read_text())
        except (OSError, json.JSONDecodeError):
            state = {}
        if state.get("stage") == "write" and 0 < state["done"] < state["total"]:
            return state
        time.sleep(0.02)
    raise AssertionError(f"the import never was half-way: {state}")


def test_an_import_job_writes_the_project_in_its_own_process_and_removes_the_upload(store, home):
    csv = rating_tasks_csv(home / "tasks.csv", 2_000)
    seen = []
    job = imports.import_file(store, csv, "imported", overlap=2, progress=lambda *a: seen.append(a))
    assert job["status"] == "done", job
    assert job["message"] == "500 items, 2,000 rating tasks, 3,000 pair tasks"
    row = store.job(job["job"])
    assert row["kind"] == "import" and row["pid"] != os.getpid()  # the work ran in another process
    project = store.project("imported")
    assert (project.n_items, project.n_rating_tasks, project.overlap) == (500, 2_000, 2)
    directory = imports.jobs_root() / f"job-{job['job']}"
    assert not list(directory.glob("upload*")) and csv.exists()  # the job's copy is gone, the user's file kept
    assert json.loads((directory / runner.PROGRESS_FILE).read_text())["done"] == 500
    assert all(stage in ("read", "write") and done <= total for done, total, stage in seen)
    again = imports.import_file(store, csv, "imported")  # the name is taken: refused, nothing written
    assert again["status"] == "failed" and "already exists" in again["message"]
    assert item_count(store) == 2 + 500 and not hidden_projects(store)


def test_the_cli_import_is_the_same_job(home, cli):
    csv = rating_tasks_csv(home / "tasks.csv", 40)
    out = cli("import", csv, "--project", "from-cli", env={"SPARSE_FEEDBACK_HOME": str(home)})
    assert out.returncode == 0, out.stderr[-2000:]
    assert "from-cli: 10 items, 40 rating tasks, 60 pair tasks (job 1)" in out.stdout
    store = Store()
    assert store.job(1)["kind"] == "import" and store.project("from-cli").n_items == 10
    bad = home / "bad.csv"
    bad.write_text("instruction,input,output,rating\nq,,a,5\nq,,b,nine\n")
    out = cli("import", bad, "--project", "bad", env={"SPARSE_FEEDBACK_HOME": str(home)})
    assert out.returncode == 2 and "bad.csv: line 3, column 'rating'" in out.stderr, out.stderr
    assert [p.name for p in store.projects()] == ["from-cli"]


@pytest.mark.slow
def test_a_stopped_import_leaves_no_project_and_a_live_one_is_spared_by_the_start_up_clean_up(store, home):
    job_id = imports.start_import(store, rating_tasks_csv(home / "big.csv", 200_000), "big")
    directory = imports.jobs_root() / f"job-{job_id}"
    wait_for_writing(directory)
    assert hidden_projects(store) and "big" not in [p.name for p in store.projects()]
    assert imports.clean_up(store) == 0 and hidden_projects(store)  # a running import is not touched
    assert imports.stop_import(store, job_id) == f"import {job_id} stopped"
    end = runner.wait(store, job_id, timeout=60, poll=0.05)
    assert end["status"] == "stopped"
    deadline = time.monotonic() + 60
    while hidden_projects(store) and time.monotonic() < deadline:  # the process removes what it wrote
        time.sleep(0.1)
    assert not hidden_projects(store) and item_count(store) == 2 and not list(directory.glob("upload*"))
    assert [p.name for p in store.projects()] == ["existing"]


@pytest.mark.slow
def test_an_import_killed_while_the_app_runs_is_failed_and_removed(store, home):
    job_id = imports.start_import(store, rating_tasks_csv(home / "big.csv", 200_000), "big")
    wait_for_writing(imports.jobs_root() / f"job-{job_id}")
    os.killpg(store.job(job_id)["pid"], signal.SIGKILL)
    end = runner.wait(store, job_id, timeout=60, poll=0.05)  # the runner's reaper records the end and cleans
    assert end["status"] == "failed" and "ended unexpectedly" in end["message"]
    assert not hidden_projects(store) and item_count(store) == 2
    assert not list((imports.jobs_root() / f"job-{job_id}").glob("upload*"))


@pytest.mark.slow
def test_an_import_killed_with_the_app_is_cleaned_at_start_up(store, home):
    """No reaper (the app died too): the next start-up marks the job interrupted and removes its leftovers."""
    job_id = store.start_job(imports.JOB_KIND, {"project": "big"})
    directory = imports.jobs_root() / f"job-{job_id}"
    directory.mkdir(parents=True)
    rating_tasks_csv(directory / "upload.csv", 200_000)
    (directory / imports.SETTINGS_FILE).write_text(json.dumps(
        {"project": "big", "kind": "auto", "overlap": 1, "source_model": "llm", "file": "big.csv", "upload": "upload.csv"}))
    proc = subprocess.Popen([sys.executable, "-m", "sparse_feedback.jobs.imports", str(directory), str(job_id)],
                            env={**os.environ, "SPARSE_FEEDBACK_DB": store.url}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    store.attach_process(job_id, proc.pid)
    wait_for_writing(directory)
    proc.kill()
    proc.wait()
    assert hidden_projects(store) and (directory / "upload.csv").exists()  # what the kill left

    restarted = Store(store.url)  # what app.py does at start-up
    assert runner.mark_interrupted(restarted) == 1 and restarted.job(job_id)["status"] == "interrupted"
    assert imports.clean_up(restarted) == 1
    assert not hidden_projects(restarted) and item_count(restarted) == 2 and not (directory / "upload.csv").exists()
    assert [p.name for p in restarted.projects()] == ["existing"]
    restarted.close()


def test_a_large_upload_is_previewed_in_a_process_of_its_own_with_the_same_answer(tmp_path, monkeypatch):
    from sparse_feedback.errors import InputError

    good = rating_tasks_csv(tmp_path / "u-1a2b.csv", 40)
    bad = tmp_path / "u-3c4d.csv"
    bad.write_text("instruction,input,output,rating\nSay hi.,,hi,3\nSay yo.,,yo,nine\n")
    in_place = imports.preview_file(good, "auto", "tasks.csv")
    with pytest.raises(InputError) as inline_err:
        imports.preview_file(bad, "rating feedback", "ratings.csv")

    monkeypatch.setattr(imports, "PREVIEW_IN_PLACE_BYTES", 0)  # every file is now "large"

    def not_here(*_a, **_k):
        raise AssertionError("read in the app's process")

    monkeypatch.setattr(imports, "read_named", not_here)
    line, table = imports.preview_file(good, "auto", "tasks.csv")
    assert line == in_place[0] and "40 responses to rate, over 10 instructions" in line
    pd.testing.assert_frame_equal(table, in_place[1], check_dtype=False)
    with pytest.raises(InputError) as child_err:
        imports.preview_file(bad, "rating feedback", "ratings.csv")
    assert str(child_err.value) == str(inline_err.value)
    assert str(child_err.value).startswith("ratings.csv: ") and "rating" in str(child_err.value)
    assert str(tmp_path) not in str(child_err.value)


def test_an_uploads_llm_labels_are_published_with_its_items_or_nothing_is(store, tmp_path, monkeypatch):
    from sparse_feedback.store.importing import create_project, read_upload

    feedback = tmp_path / "ratings.csv"
    pd.DataFrame({"instruction": ["Say hi.", "Say hi.", "Say yo."], "input": "", "output": ["hi", "hello", "yo"],
                  "rating": [6, 4, 2]}).to_csv(feedback, index=False)
    upload = read_upload(feedback, "rating feedback")
    counts = create_project(store, upload, "labelled", chunk=1)
    assert counts == {"items": 2, "rating_tasks": 3, "pair_tasks": 1, "llm_ratings": 3}
    assert sorted(store.llm_ratings("labelled")["rating"]) == [2, 4, 6]
    seen = []  # again in chunks of 2 (as an import's hidden project is written): a rerun replaces, never doubles
    again = upload.ratings.assign(rating=[7, 5, 3])
    assert store.import_llm_ratings("labelled", again, chunk=2, callback=lambda *a: seen.append(a)) == 3
    assert seen == [(2, 3, "labels"), (3, 3, "labels")] and sorted(store.llm_ratings("labelled")["rating"]) == [3, 5, 7]

    def fails(*_a, **_k):  # the labels' write fails (a full disk, a kill) after every item was written
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(type(store), "import_llm_ratings", fails)
    with pytest.raises(OSError):
        create_project(store, upload, "half", chunk=1)
    assert [p.name for p in store.projects()] == ["existing", "labelled"] and not hidden_projects(store)
