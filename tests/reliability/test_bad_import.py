"""Malformed uploads through the Import tab (its handlers, and gradio_client against the running app):
each shows a one-line error naming the file, and nothing is imported. Uploads over the size limit are
refused with a message."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from gradio_client import Client, handle_file

from pages import imports
from sparse_feedback.store import Store, parse_users
from sparse_feedback.store.demo import DEMO_PROJECTS
from sparse_feedback.ui.access import Access
from tests.appserver import running_app, small_generation

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(180)]
HEADER = "instruction,input,output,rating\n"


def bad_uploads(folder: Path) -> list[Path]:
    """One file per way an upload goes wrong: encoding, emptiness, shape, values, size of a field, containers."""
    folder.mkdir(exist_ok=True)
    files = {
        "invalid_utf8.csv": HEADER.encode() + b"q\xff\xfe1,,a\x80b,5\n",
        "bom_crlf_bad_rating.csv": ("\ufeff" + HEADER + "q,,a,5\r\nq,,b,eight\r\n").encode(),
        "empty.csv": b"", "empty.json": b"", "empty.jsonl": b"", "blank_lines.jsonl": b"\n\n\r\n",
        "only_header.csv": HEADER.encode(),
        "two_unknown_columns.csv": b"prompt,score\nq,5\n",
        "ragged.csv": (HEADER + "q,,a,5,extra,cols\n").encode(),
        "rating_out_of_range.csv": (HEADER + "q,,a,5\nq,,b,99\n").encode(),
        "huge_field.csv": (HEADER + "q,," + "A" * 2_000_000 + ",nine\n").encode(),
        "wrong_columns.json": json.dumps([{"foo": 1, "bar": 2}]).encode(),
        "not_a_list.json": json.dumps({"instruction": "x"}).encode(),
        "truncated.json": b'[{"instruction": "x", "input": "", "responses": ["a", ',
        "generation_wrong_types.json": json.dumps([{"instruction": 5, "input": None, "responses": "one"}]).encode(),
        "deeply_nested.json": b"[" * 100_000 + b"]" * 100_000,
        "binary.json": bytes(range(256)) * 8,
        "bad_line.jsonl": b'{"instruction":"q","input":"","output":"a","rating":5}\n{not json}\n',
        "garbage.parquet": b"PAR1 this is not parquet at all",
        "corrupt.zip": b"PK\x03\x04 not really a zip",
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    pd.DataFrame({"x": [1], "y": ["z"]}).to_parquet(folder / "wrong_columns.parquet")
    with zipfile.ZipFile(folder / "path_traversal.zip", "w") as z:
        z.writestr("../../evil.json", "[]")
    with zipfile.ZipFile(folder / "not_a_dataset.zip", "w") as z:
        z.writestr("ds/readme.txt", "nothing here")
    return sorted(folder.iterdir())


def _counts(store) -> tuple[int, int]:
    projects = store.projects()
    return len(projects), sum(p.n_items for p in projects)


def _refused(message: str, path: Path) -> None:
    assert message.startswith("**Error:** " + path.name), (path.name, message)
    assert "\n" not in message and "Traceback" not in message and "/tmp" not in message, (path.name, message)


def _refuse_all(tmp_path, every_create: bool) -> None:
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    store.sync_users(parse_users("root:pw:admin"))
    store.create_project_from_generation(small_generation(2, 3), "existing")
    access, root = Access(store, parse_users("root:pw:admin")), SimpleNamespace(username="root")
    before = _counts(store)
    for path in bad_uploads(tmp_path / "bad"):
        _refused(imports.preview(store, access, "", str(path), "auto", root)[0], path)
        # Create runs an import job in a process of its own (about a second each to start).
        if every_create or path.name in ("bom_crlf_bad_rating.csv", "not_a_dataset.zip"):
            _refused(imports.create(store, access, "", str(path), "auto", path.stem, 1, "llm", root)[0], path)
        assert _counts(store) == before, path.name
    store.close()


def test_the_import_handlers_refuse_every_bad_file_and_import_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARSE_FEEDBACK_HOME", str(tmp_path))
    _refuse_all(tmp_path, every_create=False)


@pytest.mark.slow
def test_every_bad_file_fails_its_import_job_and_imports_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARSE_FEEDBACK_HOME", str(tmp_path))
    _refuse_all(tmp_path, every_create=True)


@pytest.mark.slow
def test_bad_files_through_the_running_app_show_the_error_and_import_nothing(tmp_path):
    def setup(store):
        store.create_project_from_generation(small_generation(2, 3), "existing")

    with running_app(tmp_path, setup=setup) as (url, store):
        admin = Client(url, auth=("root", "root-pw"), verbose=False)
        before = _counts(store)
        for path in bad_uploads(tmp_path / "bad"):
            message, _ = admin.predict("", handle_file(str(path)), "auto", path.stem, 1, "llm", api_name="/import_create")
            _refused(message, path)
            assert _counts(store) == before, path.name


@pytest.mark.slow
def test_uploads_over_the_limit_are_refused_with_a_message(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARSE_FEEDBACK_MAX_UPLOAD_MB", "0.05")  # 51 KB
    small, big = tmp_path / "small.json", tmp_path / "big.json"
    for path, n in ((small, 5), (big, 400)):
        path.write_text(json.dumps([{"instruction": f"Question {i} " + "x" * 200, "input": "",
                                     "responses": ["a", "b"]} for i in range(n)]))
    assert small.stat().st_size < 50_000 < big.stat().st_size
    with running_app(tmp_path, setup=lambda s: None) as (url, store):
        admin = Client(url, auth=("root", "root-pw"), verbose=False)
        with pytest.raises(Exception, match="(?i)size"):  # refused by the server's upload route
            admin.predict("", handle_file(str(big)), "auto", "big", 1, "llm", api_name="/import_create")
        message, _ = admin.predict("", handle_file(str(small)), "auto", "small", 1, "llm", api_name="/import_create")
        assert message.startswith("Created **small**")
        # The handler checks the limit too (a file reaching it by another way than the upload route).
        access, root = Access(store, parse_users(f"root:root-pw:admin")), SimpleNamespace(username="root")
        refused = imports.create(store, access, "", str(big), "auto", "big", 1, "llm", root)[0]
        assert "larger than the upload limit of 51 KB" in refused
        assert [p.name for p in store.projects() if p.name not in DEMO_PROJECTS] == ["small"]
