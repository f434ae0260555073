"""Shared pieces of the Hub tests: the fake Hub as a fixture, the CLI run against it, small feedback tables."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from tests.conftest import run_cli
from tests.fake_hub import TOKEN, FakeHub

RANKINGS = pd.DataFrame([
    {"instruction": "Add 2 and 3.", "input": "", "output1": "5", "output2": "6", "feedback": "(a)"},
    {"instruction": "Add 2 and 3.", "input": "", "output1": "6", "output2": "five", "feedback": "(b)"},
    {"instruction": "Name a colour.", "input": "", "output1": "red", "output2": "blue", "feedback": "equal"},
    {"instruction": "Name a colour.", "input": "", "output1": "blue", "output2": "sky", "feedback": "(a)"},
])
RATINGS = pd.DataFrame([
    {"instruction": "Add 2 and 3.", "input": "", "output": "5", "rating": 7},
    {"instruction": "Add 2 and 3.", "input": "", "output": "6", "rating": 2},
    {"instruction": "Add 2 and 3.", "input": "", "output": "five", "rating": 6},
    {"instruction": "Name a colour.", "input": "", "output": "red", "rating": 5},
    {"instruction": "Name a colour.", "input": "", "output": "blue", "rating": 5},
    {"instruction": "Name a colour.", "input": "", "output": "sky", "rating": 3},
])


@pytest.fixture
def fake_hub():
    with FakeHub() as hub:
        yield hub


@pytest.fixture
def hub_in_process(monkeypatch, tmp_path):
    """The fake Hub for calls made in this process: ``huggingface_hub`` read ``HF_ENDPOINT`` (and ``HF_HOME``) at
    import, so its constants are set here (a fresh download cache, Xet off: the fake speaks plain LFS only)."""
    from huggingface_hub import constants

    with FakeHub() as hub:
        monkeypatch.setattr(constants, "ENDPOINT", hub.url)
        monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE",
                            hub.url + "/{repo_id}/resolve/{revision}/{filename}")
        monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
        monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setenv("HF_TOKEN", TOKEN)
        yield hub


@pytest.fixture
def hub_cli(fake_hub, tmp_path):
    def run(*args, token=TOKEN):
        return run_cli(*args, env={**fake_hub.env(token), "HF_HOME": str(tmp_path / "hf-home")}, timeout=300)
    return run


@pytest.fixture
def feedback_files(tmp_path):
    rankings, ratings = tmp_path / "rankings.csv", tmp_path / "ratings.csv"
    RANKINGS.to_csv(rankings, index=False)
    RATINGS.to_csv(ratings, index=False)
    return rankings, ratings


def parquet_rows(data: bytes) -> list[dict]:
    return pd.read_parquet(io.BytesIO(data)).to_dict("records")


def one_error_line(result) -> str:
    """The command failed with exit 2 and said why in one line (no traceback), its last."""
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and result.stderr.strip().splitlines()[-1] == errors[0], result.stderr[-2000:]
    return errors[0]


def paper_layout():
    """The layout the original pipeline writes its feedback in (its CSV column order, header names as its
    task files spell them), as a dataset on the Hub would carry it."""
    rankings = pd.DataFrame({"instruction": RANKINGS["instruction"], "input": RANKINGS["input"],
                             "response1": RANKINGS["output1"], "response2": RANKINGS["output2"],
                             "feedback": ["(a)", "(b)", "equal", "(a)"]})
    ratings = RATINGS.rename(columns={"output": "response"})
    return rankings, ratings
