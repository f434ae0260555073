"""Issue #7: a fresh app (a Space's empty data home) shows a finished Best-of-n job and offers two trained RMs,
all shipped in ``assets/demo/best_of_n/`` by the project's own pipeline (``assets/demo/make_best_of_n_demo.py``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sparse_feedback import formats
from sparse_feedback.analysis import win_rate_rankings, win_rate_ratings
from sparse_feedback.report.inputs import EVALUATION_FILES, evaluated_runs
from sparse_feedback.settings import home
from sparse_feedback.store import Store
from sparse_feedback.ui import best_of_n as bon
from sparse_feedback.ui import best_of_n_demo

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "assets" / "demo" / "best_of_n"
PROTOCOLS = ("ratings", "rankings")  # the job's RM 1 and RM 2


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """A Space's first start: an empty data home and its store."""
    monkeypatch.setenv("SPARSE_FEEDBACK_HOME", str(tmp_path / "home"))
    store = Store(f"sqlite:///{tmp_path / 'home' / 'sparse_feedback.db'}")
    yield store
    store.close()


def _open_app(store):
    import app

    app.open_app(store)


def _tree(root: Path) -> dict[str, float]:
    return {str(p.relative_to(root)): p.stat().st_mtime for p in root.rglob("*")}


@pytest.mark.slow
def test_first_start_shows_a_finished_best_of_n_job_with_both_rms_picks(fresh):
    _open_app(fresh)
    jobs = fresh.jobs(bon.JOB_KIND)
    assert len(jobs) == 1 and jobs.iloc[0]["status"] == "done" and "shipped demo" in jobs.iloc[0]["message"]
    job_id = int(jobs.iloc[0]["id"])
    directory = bon.job_dir(fresh, job_id)
    assert directory == home() / "best_of_n" / f"job-{job_id}"

    result = bon.load_result(directory)
    heldout = formats.read_instructions(directory / "instructions.json")
    assert result.labels == ["ratings RM (demo-ratings-rm)", "rankings RM (demo-rankings-rm)"]
    assert result.instructions == heldout["instruction"].tolist() and len(heldout) > 0
    n = bon.read_settings(directory).n
    for scored in result.scored:
        for record in scored:
            scores = [c["score"] for c in record["candidates"]]
            assert len(scores) == n and record["chosen"] == int(np.argmax(scores))
    for i in range(len(heldout)):
        page = bon.render_instruction(result, i)
        assert page.count('class="chosen') == 2 and "Reference" in page
    assert 0 < len(result.reference) == len(heldout)
    summary = bon.describe_evaluations(directory)
    assert summary.count("ratings: win-rate") == summary.count("rankings: win-rate") == 2


@pytest.mark.slow
def test_first_start_lists_the_demo_evaluations_in_the_win_rates_tab(fresh):
    _open_app(fresh)
    job_id = int(fresh.jobs(bon.JOB_KIND).iloc[0]["id"])
    assert evaluated_runs(home()) == [f"best_of_n/job-{job_id}/best_of_n_{k}.eval" for k in (1, 2)]
    from pages.winrates import run_choices

    labels = [label for label, _ in run_choices()]
    assert [label.split(" — ")[0] for label in labels] == [
        f"best-of-n job-{job_id} · {p} RM (demo-{p}-rm)" for p in PROTOCOLS]


@pytest.mark.slow
def test_first_start_offers_the_two_demo_rms_and_the_job_uses_them(fresh):
    _open_app(fresh)
    installed = [str(home() / "reward_models" / f"demo-{p}-rm") for p in PROTOCOLS]
    assert bon.find_reward_models() == sorted(installed)
    directory = bon.job_dir(fresh, int(fresh.jobs(bon.JOB_KIND).iloc[0]["id"]))
    assert bon.read_settings(directory).reward_models == [str(Path(p).resolve()) for p in installed]
    for rm, protocol in zip(installed, PROTOCOLS):
        assert json.loads((Path(rm) / "reward_config.json").read_text())["protocol"] == protocol
        assert (Path(rm) / "adapter_model.safetensors").read_bytes() == \
            (SHIPPED / f"rm_{protocol}" / "adapter_model.safetensors").read_bytes()


@pytest.mark.slow
def test_a_second_start_adds_nothing(fresh):
    _open_app(fresh)
    jobs, files = fresh.jobs().to_dict("records"), _tree(home())
    _open_app(fresh)
    assert fresh.jobs().to_dict("records") == jobs
    assert {k: v for k, v in _tree(home()).items() if "sparse_feedback.db" not in k} == \
        {k: v for k, v in files.items() if "sparse_feedback.db" not in k}


@pytest.mark.slow
def test_a_store_that_has_a_best_of_n_job_gets_no_demo(fresh):
    job_id = fresh.start_job(bon.JOB_KIND, {"policy": "mine"})
    fresh.finish_job(job_id, "done")
    assert best_of_n_demo.install_best_of_n_demo(fresh, SHIPPED) is None
    assert len(fresh.jobs()) == 1 and not (home() / "best_of_n").exists() and bon.find_reward_models() == []


@pytest.mark.slow
def test_a_failed_copy_leaves_nothing_half_installed(fresh, monkeypatch):
    real_move = best_of_n_demo._move

    def full_disk(staging, target):
        if "job-" in target.name:
            (staging / "candidates.json").write_text("half")  # the copy got this far
            raise OSError(28, "No space left on device")
        return real_move(staging, target)

    monkeypatch.setattr(best_of_n_demo, "_move", full_disk)
    assert best_of_n_demo.ensure_best_of_n_demo(fresh, SHIPPED) is None  # logged; the app still starts
    assert fresh.jobs().empty and list((home() / "best_of_n").iterdir()) == []
    monkeypatch.setattr(best_of_n_demo, "_move", real_move)
    job_id = best_of_n_demo.ensure_best_of_n_demo(fresh, SHIPPED)  # the next start installs it whole
    assert [p.name for p in (home() / "best_of_n").iterdir()] == [f"job-{job_id}"]
    assert (bon.job_dir(fresh, job_id) / "candidates.json").read_bytes() == \
        (SHIPPED / "job" / "candidates.json").read_bytes()
    assert sorted(p.name for p in (home() / "reward_models").iterdir()) == ["demo-rankings-rm", "demo-ratings-rm"]


@pytest.mark.slow
@pytest.mark.parametrize("k", [1, 2])
def test_the_shipped_win_rates_are_what_the_shipped_feedback_gives(k):
    folder = SHIPPED / "job" / f"best_of_n_{k}.eval"
    shipped = json.loads((folder / "winrates.json").read_text())
    reference, candidate, rankings = (folder / name for name in EVALUATION_FILES)
    assert shipped["ratings"] == win_rate_ratings(formats.read_rating_feedback(reference),
                                                  formats.read_rating_feedback(candidate)).to_dict()
    assert shipped["rankings"] == win_rate_rankings(formats.read_ranking_feedback(rankings)).to_dict()
    heldout = formats.read_instructions(SHIPPED / "job" / "instructions.json")
    assert shipped["instructions"] == shipped["ratings"]["n"] == shipped["rankings"]["n"] == len(heldout)
    outputs = formats.read_model_outputs(SHIPPED / "job" / f"best_of_n_{k}.json")
    scored = json.loads((SHIPPED / "job" / f"best_of_n_{k}.scores.json").read_text())
    assert outputs["output"].tolist() == [r["candidates"][r["chosen"]]["response"] for r in scored]


@pytest.mark.slow
def test_the_shipped_demo_is_small_and_carries_no_machine_paths():
    files = [p for p in SHIPPED.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 1_000_000
    assert not any(p.name == "tokenizer.json" or "checkpoints" in p.parts for p in files)
    for path in files:
        if path.suffix == ".json":
            text = path.read_text("utf-8")
            assert "/tmp/" not in text and "/root/" not in text and "/home/" not in text, path


@pytest.mark.slow
@pytest.mark.parametrize("k,protocol", [(1, "ratings"), (2, "rankings")])
def test_a_shipped_rm_reproduces_its_shipped_scores(tmp_path, k, protocol):
    """No tokenizer is shipped: the base model named in reward_config.json provides it."""
    from sparse_feedback.rerank import rerank
    from sparse_feedback.reward import load_reward_model

    rm = load_reward_model(SHIPPED / f"rm_{protocol}", device="cpu")
    candidates = formats.read_generation(SHIPPED / "job" / "candidates.json")
    rerank(candidates, rm, tmp_path / "out.json", "check")
    again = json.loads((tmp_path / "out.scores.json").read_text())
    shipped = json.loads((SHIPPED / "job" / f"best_of_n_{k}.scores.json").read_text())
    assert [r["instruction"] for r in again] == [r["instruction"] for r in shipped]
    for new, old in zip(again, shipped):
        new_scores = np.array([c["score"] for c in new["candidates"]])
        np.testing.assert_allclose(new_scores, [c["score"] for c in old["candidates"]], atol=1e-3)
        # the same pick, up to candidates whose scores tie within the tolerance
        assert new_scores[old["chosen"]] >= new_scores.max() - 1e-3


@pytest.mark.slow
def test_the_best_of_n_tab_of_a_fresh_app_browses_the_demo_job(tmp_path):
    from gradio_client import Client

    from tests.appserver import running_app

    with running_app(tmp_path, users="root:root-pw:admin") as (url, store):
        job_id = int(store.jobs(bon.JOB_KIND).iloc[0]["id"])
        admin = Client(url, auth=("root", "root-pw"), verbose=False)
        picker, summary = admin.predict("", job_id, False, api_name="/best_of_n_browse")
        n = len(formats.read_instructions(SHIPPED / "job" / "instructions.json"))
        assert summary.startswith(f"{n} instructions; the reward models disagree on")
        assert summary.count("win-rate") == 4 and "ratings RM (demo-ratings-rm)" in summary
        view = admin.predict("", job_id, 0, api_name="/best_of_n_show")
        assert view.count(" · chosen") == 2 and "Reference" in view
