"""Outputs never destroy user data: a command writing over a folder it did not make refuses with one line and
exit 2, touching nothing; an existing file is replaced whole; the project's own earlier output is replaced."""

import json
from pathlib import Path

import pandas as pd
import pytest

from sparse_feedback import formats
from sparse_feedback.cli import main
from sparse_feedback.store import Store

SEED = Path("/work/shared/seed-data/alpaca_generation")


@pytest.fixture
def inputs(tmp_path):
    """Small valid inputs for every writing command, in ``tmp_path/in``."""
    d = tmp_path / "in"
    d.mkdir()
    gen = [{"instruction": "Say hi.", "input": "", "responses": ["hi", "hello there"]}]
    (d / "gen.json").write_text(json.dumps(gen))
    (d / "instructions.json").write_text(json.dumps([{"instruction": "Say hi.", "input": ""}]))
    outputs = [{"instruction": "Say hi.", "input": "", "output": "hi"}]
    (d / "ref.json").write_text(json.dumps(outputs))
    (d / "cand.json").write_text(json.dumps(outputs))
    pd.DataFrame({"instruction": ["Say hi."], "input": [""], "output1": ["hi"], "output2": ["hello there"],
                  "feedback": ["(b)"]}).to_csv(d / "rankings.csv", index=False)
    pd.DataFrame({"instruction": ["Say hi."], "input": [""], "output": ["hi"], "rating": [5]}).to_csv(
        d / "ratings.csv", index=False)
    Store(f"sqlite:///{d / 'sf.db'}").close()
    return d


def commands(d: Path, out: str) -> dict[str, list[str]]:
    return {
        "export rm-pairs": ["export", "rm-pairs", "--rankings", str(d / "rankings.csv"), "--output", out],
        "export rm-pairs hf": ["export", "rm-pairs", "--rankings", str(d / "rankings.csv"), "--format", "hf",
                               "--output", out],
        "export rm-ratings": ["export", "rm-ratings", "--ratings", str(d / "ratings.csv"), "--output", out],
        "tasks": ["tasks", "rankings", "--input", str(d / "gen.json"), "--output", out],
        "train": ["train", "rankings", "--train", str(d / "rankings.csv"), "--output-dir", out,
                  "--model", str(d / "no-such-model")],
        "generate": ["generate", "--instructions", str(d / "instructions.json"), "--model", "no-such-model",
                     "--output", out],
        "rerank": ["rerank", "--rm", str(d / "no-such-rm"), "--candidates", str(d / "gen.json"), "--output", out],
        "evaluate": ["evaluate", "--reference", str(d / "ref.json"), "--candidate", str(d / "cand.json"),
                     "--judge-model", "m", "--base-url", "http://127.0.0.1:9/v1", "--output-dir", out],
        "pipeline": ["pipeline", "--output-dir", out],
        "backup": ["backup", "--db", f"sqlite:///{d / 'sf.db'}", "--output", out],
        "score": ["score", "--model-dir", str(d / "no-such-rm"), "--input", str(d / "ratings.csv"), "--output", out],
    }


COMMANDS = list(commands(Path("."), "x"))


def _snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("command", COMMANDS)
def test_a_command_refuses_a_folder_holding_a_users_file_and_touches_nothing(command, inputs, tmp_path, capsys,
                                                                              monkeypatch):
    monkeypatch.chdir(tmp_path)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.txt").write_text("three years of work")
    before = _snapshot(tmp_path)
    assert main(commands(inputs, str(mine))[command]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "refusing" in err and "mine" in err
    assert _snapshot(tmp_path) == before and sorted(p.name for p in mine.iterdir()) == ["thesis.txt"]


@pytest.mark.parametrize("command", COMMANDS)
def test_a_command_refuses_the_current_folder_and_touches_nothing(command, inputs, tmp_path, capsys, monkeypatch):
    here = tmp_path / "here"
    here.mkdir()
    (here / "thesis.txt").write_text("three years of work")
    monkeypatch.chdir(here)
    assert main(commands(inputs, ".")[command]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "refusing" in err
    assert sorted(p.name for p in here.iterdir()) == ["thesis.txt"]


def test_an_existing_file_is_replaced_whole(inputs, tmp_path):
    out = tmp_path / "pairs.csv"
    out.write_text("old")
    assert main(commands(inputs, str(out))["export rm-pairs"]) == 0
    assert pd.read_csv(out)["chosen"].tolist() == [" hello there"]


def test_the_projects_own_earlier_output_folder_is_replaced_and_an_empty_folder_used(inputs, tmp_path):
    out = tmp_path / "pairs"
    out.mkdir()
    assert main(commands(inputs, str(out))["export rm-pairs hf"]) == 0
    (out / "stale").write_text("from the earlier export")
    assert main(commands(inputs, str(out))["export rm-pairs hf"]) == 0
    assert not (out / "stale").exists() and (out / formats.MARKER).exists()
    assert len(list(out.iterdir())) > 1


def test_another_kind_of_project_output_is_not_replaced(inputs, tmp_path):
    out = tmp_path / "run"
    formats.claim_dir(out, "pipeline run")
    (out / "results.json").write_text("{}")
    assert main(commands(inputs, str(out))["export rm-pairs hf"]) == 2
    assert (out / "results.json").read_text() == "{}"
