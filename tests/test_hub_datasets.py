"""Issue 22: feedback datasets pulled from and pushed to the Hub (a fake Hub on 127.0.0.1, real clients).

Each command runs as a user runs it, in a child process whose ``HF_ENDPOINT`` names the fake
(``huggingface_hub`` reads it once, at import).
"""

from __future__ import annotations

import pandas as pd
import pytest

from sparse_feedback.formats.cards import DATA_PATH, front_matter
from tests.hub_fixtures import (  # noqa: F401  (fixtures)
    RANKINGS, RATINGS, fake_hub, feedback_files, hub_cli, one_error_line, paper_layout, parquet_rows,
)

@pytest.mark.slow
def test_pushed_pairs_arrive_as_the_export_with_a_card_that_states_protocol_aggregation_and_counts(
        hub_cli, fake_hub, feedback_files, tmp_path):
    rankings, ratings = feedback_files
    local = tmp_path / "pairs.jsonl"
    done = hub_cli("export", "rm-pairs", "--rankings", rankings, "--ratings", ratings, "--output", local,
                   "--push-to-hub", "tester/pairs", "--license", "mit")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "pushed TRL preference pairs to" in done.stdout
    files = fake_hub.files("tester/pairs")
    assert parquet_rows(files[DATA_PATH]) == pd.read_json(local, lines=True).to_dict("records")
    meta = front_matter(files["README.md"].decode())
    assert meta["license"] == "mit" and meta["size_categories"] == ["n<1K"]
    assert meta["configs"][0]["data_files"][0]["path"] == "data/train-*"
    facts = meta["sparse_feedback"]
    assert facts["protocol"] == "rankings" and facts["rows"] == 3 and facts["counts"] == {"pairs": 3}
    assert "1 equal rows dropped" in facts["aggregation"]
    # ratings imply (a), (b), equal, (a) for the four pairs: all four agree with the rankings
    assert facts["consistency"]["n_pairs"] == 4 and facts["consistency"]["percent"] == 100.0
    assert 0 < facts["consistency"]["low"] < 100 == facts["consistency"]["high"]


@pytest.mark.slow
def test_pushing_the_same_export_again_says_unchanged_and_makes_no_commit(hub_cli, fake_hub, feedback_files):
    rankings, ratings = feedback_files
    first = hub_cli("export", "rm-ratings", "--ratings", ratings, "--push-to-hub", "tester/rated")
    assert first.returncode == 0, first.stderr[-3000:]
    commits = len(fake_hub.commits("tester/rated"))
    again = hub_cli("export", "rm-ratings", "--ratings", ratings, "--push-to-hub", "tester/rated")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "unchanged on the Hub" in again.stdout
    assert len(fake_hub.commits("tester/rated")) == commits
    meta = front_matter(fake_hub.files("tester/rated")["README.md"].decode())
    assert meta["sparse_feedback"]["protocol"] == "ratings"
    assert meta["sparse_feedback"]["counts"] == {"1": 0, "2": 1, "3": 1, "4": 0, "5": 2, "6": 1, "7": 1}


@pytest.mark.slow
def test_a_push_to_a_branch_lands_there_and_leaves_main_alone(hub_cli, fake_hub, feedback_files):
    rankings, _ = feedback_files
    done = hub_cli("export", "rm-pairs", "--rankings", rankings, "--push-to-hub", "tester/branchy",
                   "--revision", "v2", "--private")
    assert done.returncode == 0, done.stderr[-3000:]
    assert DATA_PATH in fake_hub.files("tester/branchy", revision="v2")
    assert DATA_PATH not in fake_hub.files("tester/branchy")
    assert fake_hub.repo("tester/branchy").private


@pytest.mark.slow
def test_a_dropped_connection_mid_push_is_one_line_and_the_retry_commits_once(hub_cli, fake_hub, feedback_files):
    rankings, _ = feedback_files
    fake_hub.drop.add("commit")
    cut = hub_cli("export", "rm-pairs", "--rankings", rankings, "--push-to-hub", "tester/flaky")
    line = one_error_line(cut)
    assert "tester/flaky" in line and "lost the connection" in line and "run the same command again" in line
    assert len(fake_hub.commits("tester/flaky")) == 1  # the repo's initial commit only
    fake_hub.drop.clear()
    retry = hub_cli("export", "rm-pairs", "--rankings", rankings, "--push-to-hub", "tester/flaky")
    assert retry.returncode == 0, retry.stderr[-3000:]
    assert len(fake_hub.commits("tester/flaky")) == 2
    assert len(parquet_rows(fake_hub.files("tester/flaky")[DATA_PATH])) == 3


@pytest.mark.slow
def test_a_retry_after_the_commit_landed_but_its_answer_was_lost_commits_nothing_more(
        hub_cli, fake_hub, feedback_files):
    rankings, _ = feedback_files
    fake_hub.drop.add("commit")
    fake_hub.drop_after_apply = True
    one_error_line(hub_cli("export", "rm-pairs", "--rankings", rankings, "--push-to-hub", "tester/lost"))
    fake_hub.drop.clear()
    retry = hub_cli("export", "rm-pairs", "--rankings", rankings, "--push-to-hub", "tester/lost")
    assert retry.returncode == 0 and "unchanged on the Hub" in retry.stdout, retry.stderr[-3000:]
    assert len(fake_hub.commits("tester/lost")) == 2


@pytest.mark.slow
def test_a_push_without_a_token_or_to_a_namespace_it_may_not_write_is_one_line(hub_cli, feedback_files):
    rankings, _ = feedback_files
    line = one_error_line(hub_cli("export", "rm-pairs", "--rankings", rankings, "--push-to-hub", "tester/x",
                                  token=None))
    assert "tester/x" in line and "no Hugging Face token" in line and "HF_TOKEN" in line
    line = one_error_line(hub_cli("export", "rm-pairs", "--rankings", rankings, "--push-to-hub", "someone-else/x"))
    assert "someone-else/x" in line and "403" in line


PAPER_CARD = """---
configs:
- config_name: rankings
  data_files:
  - split: train
    path: rankings/train-*
- config_name: ratings
  data_files:
  - split: train
    path: ratings/train-*
---
"""


@pytest.mark.slow
def test_a_hub_dataset_reads_as_feedback_wherever_a_table_is_read(hub_cli, fake_hub, tmp_path):
    from sparse_feedback.formats.hub import parquet_bytes

    rankings, ratings = paper_layout()
    fake_hub.add_repo("paper/feedback", files={"README.md": PAPER_CARD.encode(),
                                               "rankings/train-00000-of-00001.parquet": parquet_bytes(rankings),
                                               "ratings/train-00000-of-00001.parquet": parquet_bytes(ratings)})
    out = tmp_path / "pairs.jsonl"
    done = hub_cli("export", "rm-pairs", "--rankings", "hf://datasets/paper/feedback/rankings", "--output", out,
                   token=None)
    assert done.returncode == 0, done.stderr[-3000:]
    pairs = pd.read_json(out, lines=True)
    assert pairs["chosen"].str.strip().tolist() == ["5", "five", "blue"]
    assert pairs["rejected"].str.strip().tolist() == ["6", "6", "sky"]
    scored = hub_cli("export", "rm-ratings", "--ratings", "hf://datasets/paper/feedback/ratings@main:train",
                     "--output", tmp_path / "rated.csv", token=None)
    assert scored.returncode == 0, scored.stderr[-3000:]
    assert pd.read_csv(tmp_path / "rated.csv")["rating"].tolist() == RATINGS["rating"].tolist()

    from sparse_feedback.store import Store

    db = f"sqlite:///{tmp_path / 'store.db'}"
    imported = hub_cli("import", "hf://datasets/paper/feedback/rankings", "--project", "paper", "--db", db,
                       token=None)
    assert imported.returncode == 0, imported.stderr[-3000:]
    store = Store(db)
    assert sorted(store.items_frame("paper")["instruction"]) == ["Add 2 and 3.", "Name a colour."]
    store.close()


@pytest.mark.slow
def test_hub_reads_that_cannot_work_are_one_line_naming_repo_split_and_column(hub_cli, fake_hub, tmp_path):
    from sparse_feedback.formats.hub import parquet_bytes

    fake_hub.add_repo("paper/gated", files={DATA_PATH: parquet_bytes(RANKINGS)}, gated=True)
    fake_hub.add_repo("paper/tasks", files={DATA_PATH: parquet_bytes(RANKINGS.drop(columns="feedback"))})
    def read(address):
        return hub_cli("export", "rm-pairs", "--rankings", address, "--output", tmp_path / "p.jsonl", token=None)

    line = one_error_line(read("hf://datasets/nobody/nothing"))
    assert "hf://datasets/nobody/nothing" in line and "no such dataset" in line
    line = one_error_line(read("hf://datasets/paper/gated"))
    assert "paper/gated" in line and "gated" in line and "HF_TOKEN" in line
    line = one_error_line(read("hf://datasets/paper/tasks:test"))
    assert "paper/tasks:test" in line and "no split 'test' (splits: train)" in line
    line = one_error_line(read("hf://datasets/paper/tasks"))
    assert "hf://datasets/paper/tasks:train" in line and "column 'feedback'" in line
