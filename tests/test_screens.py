"""Screens that don't mislead, without a browser: the view logic behind each (the chromium checks are in
tests/browser/test_screens_browser.py)."""

import contextlib
from pathlib import Path

import pandas as pd
import pytest

from sparse_feedback.analysis.sources import frames_from_store
from sparse_feedback.store import Store
from sparse_feedback.store.demo import DEMO_NAME, DEMO_PROJECTS, PAPER_NAME, ensure_demo
from sparse_feedback.ui import annotation, dashboards, exports
from sparse_feedback.ui.access import Identity
from tests.appserver import small_generation

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The shipped demo projects: ``demo`` (a 135M judge) and ``paper`` (the original's sample), LLM feedback only."""
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('demo') / 'db.sqlite'}")
    ensure_demo(store, ROOT / "assets" / "demo")
    yield store
    store.close()


@pytest.fixture
def store(tmp_path):
    """Project ``p``: 3 instructions x 3 responses (9 rating and 9 pair tasks), one answer each."""
    with contextlib.closing(Store(f"sqlite:///{tmp_path / 'db.sqlite'}")) as s:
        s.create_project_from_generation(small_generation(3, 3), "p", overlap=1)
        yield s


def test_a_single_source_pairing_is_a_sentence_not_a_one_cell_grid(demo):
    _, _, _, headline, heatmap, grid_figure, grid = dashboards.consistency(frames_from_store(demo, PAPER_NAME),
                                                                           None, None)
    assert "consistency **56.41 %**" in headline and "Every source pairing: this project has one source" in headline
    assert heatmap is not None and grid_figure is None and grid.empty


def test_the_length_bias_figure_shows_the_share_of_equal_answers_beside_the_line(demo):
    figure, summary, _, _ = dashboards.bias(frames_from_store(demo, DEMO_NAME))
    bars = {t.name: list(t.y) for t in figure.data if t.type == "bar"}
    lines = {t.name: list(t.y) for t in figure.data if t.type == "scatter"}
    assert lines["LLM · rankings"][1:4] == [0.0, 0.0, 0.0]  # the flat line the equal share must explain
    assert "LLM · rankings: equal 83 %" in bars and max(bars["LLM · rankings: equal 83 %"]) > 50


def test_the_public_demo_lists_the_papers_sample_first():
    assert DEMO_PROJECTS[0] == PAPER_NAME


def test_opening_rate_as_an_admin_or_researcher_holds_no_task_until_they_ask(store):
    for who in (Identity("root", "admin"), Identity("res", "researcher")):
        view = annotation.show(store, who, "p", "ratings")
        assert view.offer and not view.ticket and "Annotate myself" in view.instruction
        assert store.progress("p", who.name, "ratings").open == 0
        assert annotation.answer(store, who, "p", "ratings", {}, "3").ticket == {}  # a key press takes none either
    # With overlap 1 every task is still free for the annotator: nothing was held.
    ann = Identity("ann", "annotator")
    assert store.progress("p", "ann", "ratings").available == 9 and annotation.show(store, ann, "p", "ratings").ticket
    root = Identity("root", "admin")
    asked = annotation.show(store, root, "p", "ratings", take=True)
    assert asked.ticket and not asked.offer and store.progress("p", "root", "ratings").open == 1
    assert annotation.show(store, root, "p", "ratings").ticket == asked.ticket  # resumed: they asked once
    assert annotation.show(store, root, "p", "rankings").offer  # asking to rate is not asking to rank


def test_a_name_typed_in_open_mode_annotates_at_once(store):
    assert annotation.show(store, Identity("me", "admin", typed=True), "p", "ratings").ticket
    assert annotation.show(store, Identity("visitor-1", "viewer", sandbox=True), "p", "ratings").ticket


def test_the_admin_coverage_line_counts_in_plain_words(store):
    from sparse_feedback.ui.coverage import coverage_line

    line = coverage_line(store.coverage("p"), 1)
    assert line == ("Each task needs 1 answer (overlap 1). ratings: **0 of 9 tasks** complete · "
                    "rankings: **0 of 9 tasks** complete")
    assert "1 answers" not in coverage_line({"ratings": (5, 30)}, 1)


def test_the_import_preview_counts_the_pairs_and_labels_read(tmp_path):
    from sparse_feedback.store.importing import preview, read_upload, summary

    path = tmp_path / "pairs.csv"
    pd.DataFrame({"instruction": ["q1", "q1", "q2"], "input": ["", "", ""], "output1": ["a", "a", "c"],
                  "output2": ["b", "b2", "d"], "feedback": ["(a)", "equal", "(b)"]}).to_csv(path, index=False)
    upload = read_upload(path)
    assert summary(upload) == ("Read as **ranking feedback**: 3 pairs with 3 labels ((a): 1 · (b): 1 · equal: 1), "
                               "over 2 instructions and 5 responses.")
    table = preview(upload)
    assert list(table.columns) == ["instruction", "input", "output1", "output2", "feedback"]
    assert table["feedback"].tolist() == ["(a)", "equal", "(b)"]


@pytest.mark.parametrize("what, source, fmt", [("ratings", "llm", "csv"), ("ratings", "llm", "seed"),
                                                ("trl pairs", "llm", "jsonl"), ("trl pairs", "llm", "seed-json")])
def test_the_export_preview_shows_the_rows_the_file_holds(demo, tmp_path, what, source, fmt):
    import json

    line, rows = exports.export_preview(demo, PAPER_NAME, what, source, fmt, rows=3)
    path, count = exports.export_file(demo, PAPER_NAME, what, source, fmt, tmp_path)
    if fmt == "seed-json":
        written = pd.DataFrame([(p, *pair) for p, v in json.loads(path.read_text()).items() for pair in v["sentences"]],
                               columns=list(rows.columns))
    elif fmt == "jsonl":
        written = pd.read_json(path, lines=True)
    else:
        written = pd.read_csv(path, header=0 if fmt == "csv" else None, keep_default_na=False)
        written.columns = list(rows.columns)
    assert f"writes **{count:,} rows**" in line and len(written) == count > 3
    assert list(rows.columns) == list(written.columns)
    head = written.head(3).astype(str).apply(lambda col: col.map(lambda v: v if len(v) <= exports.PREVIEW_CHARS
                                                                 else v[: exports.PREVIEW_CHARS - 1] + "…"))
    assert rows.astype(str).values.tolist() == head.values.tolist()
