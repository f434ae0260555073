"""Human studies (issue 21): gold tasks, balanced and paired assignment, the quality table, exclusion, the CLI."""

from __future__ import annotations

import itertools
import json
import os
import shutil

import numpy as np
import pandas as pd
import pytest

from pages import consistency as consistency_page
from sparse_feedback.analysis.sources import ALL_HUMANS, consistency_between, frames_from_store
from sparse_feedback.cli import main
from sparse_feedback.store import Store, StoreError
from sparse_feedback.store.schema import pair_tasks, rating_tasks
from sparse_feedback.study import assignment, exclusion
from sparse_feedback.study.gold import slot
from sparse_feedback.study.paired import design_frame
from sparse_feedback.study.quality import project_quality, wilson
from tests.appserver import small_generation
from tests.databases import db_url  # noqa: F401  (fixture)
from tests.study_helpers import KINDS, run_study, study_generation

GOLD_ITEMS = 6


def _answer_all(store, project, who, protocol, choice="4"):
    served = []
    task = assignment.next_task(store, project, who, protocol)
    while task is not None:
        served.append(task.task_id)
        _, task = assignment.submit_and_next(store, project, who, protocol, task.assignment_id, choice,
                                             submit_id=task.submit_id)
    return served


def _gold_ids(store, project, protocol):
    frame = store.gold_tasks(project)
    return set(frame.loc[frame["protocol"] == protocol, "task_id"])


def _study(url, n_items=40, paired=True, gold_every=5, overlap=6):
    """The planted study: gold on the first items (their true answers), every planted annotator on every item."""
    store = Store(url)
    generation, truth = study_generation(n_items)
    store.create_project_from_generation(generation, "s", overlap=overlap)
    store.set_study_settings("s", "admin", gold_every=gold_every, paired=paired)
    with store.db.read() as conn:
        r = conn.execute(rating_tasks.select().order_by(rating_tasks.c.id)).all()
        p = conn.execute(pair_tasks.select().order_by(pair_tasks.c.id)).all()
    positions = {row.item_id: n for n, row in enumerate(p)}  # one pair per item, in item order
    gold_items = {row.item_id for row in p[:GOLD_ITEMS]}
    expected = [("ratings", t.id, str(truth[(positions[t.item_id], t.response_index)])) for t in r
                if t.item_id in gold_items]
    expected += [("rankings", t.id, "(a)" if truth[(positions[t.item_id], 0)] > truth[(positions[t.item_id], 1)]
                  else "(b)") for t in p if t.item_id in gold_items]
    store.set_gold("s", "admin", expected)
    return store, truth, run_study(store, "s", truth)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """The 40-item planted study, built once for the tests that read it (each copies it before changing it)."""
    path = tmp_path_factory.mktemp("planted") / "s.db"
    before = os.environ.get("SPARSE_FEEDBACK_SQLITE_SYNCHRONOUS")
    os.environ["SPARSE_FEEDBACK_SQLITE_SYNCHRONOUS"] = "NORMAL"  # a test fixture: no power cut to survive
    try:
        store, truth, answers = _study(f"sqlite:///{path}")
        store.close()
    finally:
        os.environ.pop("SPARSE_FEEDBACK_SQLITE_SYNCHRONOUS") if before is None else os.environ.update(
            SPARSE_FEEDBACK_SQLITE_SYNCHRONOUS=before)
    return path, truth, answers


def _copy(planted, tmp_path) -> str:
    shutil.copy(planted[0], tmp_path / "s.db")
    return f"sqlite:///{tmp_path / 's.db'}"


def _gold_project(url, n_items, overlap, gold_every, n_gold):
    """Project ``p`` of ``n_items`` items of two responses, its first ``n_gold`` rating tasks gold."""
    store = Store(url)
    store.create_project_from_generation(small_generation(n_items, 2), "p", overlap=overlap)
    store.set_study_settings("p", "admin", gold_every=gold_every)
    with store.db.read() as conn:
        first = conn.execute(rating_tasks.select().order_by(rating_tasks.c.id).limit(n_gold)).all()
    store.set_gold("p", "admin", [("ratings", t.id, "5") for t in first])
    return store


def test_gold_tasks_come_one_in_every_n_served_and_never_count_as_data(db_url):
    store = _gold_project(db_url, 30, overlap=2, gold_every=4, n_gold=6)
    gold = _gold_ids(store, "p", "ratings")
    task = assignment.next_task(store, "p", "ann", "ratings")
    served = []
    for _ in range(16):
        served.append(task.task_id)
        _, task = assignment.submit_and_next(store, "p", "ann", "ratings", task.assignment_id, "5",
                                             submit_id=task.submit_id)
    golds = [n for n, t in enumerate(served) if t in gold]
    assert [n // 4 for n in golds] == [0, 1, 2, 3]  # exactly one in each block of four
    assert [n % 4 for n in golds] == [slot(store.project("p").id, "ann", "ratings", b, 4) for b in range(4)]
    exported = store.human_ratings("p")
    assert len(exported) == 12 and not set(exported["item"]) & {0, 1, 2}  # the gold items' rows are not data
    assert len(store.study_answers("p")) == 16


def test_gold_is_only_mixed_in_while_the_regular_queue_lasts(db_url):
    store = _gold_project(db_url, 3, overlap=1, gold_every=2, n_gold=2)
    served = _answer_all(store, "p", "ann", "ratings")
    assert len(served) == 4 + 2 and set(served[-1:]) - _gold_ids(store, "p", "ratings")  # ends on a regular task
    assert store.coverage("p")["ratings"] == (4, 4)  # the gold item is no task to cover


def test_no_task_gets_k_plus_1_answers_before_every_task_has_k(db_url):
    store = Store(db_url)
    store.create_project_from_generation(small_generation(6, 2), "p", overlap=3)
    answers = {}
    people = ["a", "b", "c", "d", "e"]
    open_tasks = {}
    for step in range(60):
        who = people[step % len(people)]
        task = assignment.next_task(store, "p", who, "ratings")
        if task is None:
            continue
        assert (who, task.task_id) not in answers  # never the same task twice to one person
        answers[(who, task.task_id)] = True
        store.submit(who, task.assignment_id, "3", submit_id=task.submit_id)
        counts = pd.Series([t for _, t in answers]).value_counts().reindex(range(1, 13), fill_value=0)
        assert counts.max() - counts.min() <= 1 and counts.max() <= 3
        open_tasks[who] = task
    assert len(answers) == 12 * 3  # every task reached k and none went past


def test_an_ordering_reorders_the_least_served_candidates_only(db_url):
    store = Store(db_url)
    store.create_project_from_generation(small_generation(5, 2), "p", overlap=2)
    last_first = lambda found: sorted(found, key=lambda c: -c.task_id)  # noqa: E731
    first = assignment.next_task(store, "p", "a", "ratings", order=last_first)
    assert first.task_id == 10
    store.submit("a", first.assignment_id, "3", submit_id=first.submit_id)
    # b's candidates at the lowest level (0 answers) exclude task 10, which a already has
    assert assignment.next_task(store, "p", "b", "ratings", order=last_first).task_id == 9


def test_paired_design_records_a_first_protocol_and_ranks_only_pairs_the_annotator_rated(db_url):
    store = Store(db_url)
    store.create_project_from_generation(small_generation(8, 2), "p", overlap=4)
    store.set_study_settings("p", "admin", paired=True)
    seen = {}
    for who in ("a", "b", "c", "d"):
        for protocol in ("ratings", "rankings", "ratings", "rankings"):
            served = _answer_all(store, "p", who, protocol, "4" if protocol == "ratings" else "left")
            seen.setdefault(who, []).append((protocol, len(served)))
    designs = design_frame(store, "p").set_index("annotator")["first"].to_dict()
    assert set(designs) == {"a", "b", "c", "d"} and set(designs.values()) <= {"ratings", "rankings"}
    for who, first in designs.items():
        # the first protocol's queue is done first; the second opens on the items it covered
        done = [(p, n) for p, n in seen[who] if n]
        assert done[0] == (first, 16 if first == "ratings" else 8)
    answers = store.study_answers("p")
    quality = project_quality(store, "p").table.set_index("annotator")
    assert (quality["consistency_n"] == 8).all()  # every pair rated and ranked by the same person
    assert len(answers) == 4 * (16 + 8)


def test_quality_table_equals_an_independent_computation_and_flags_the_planted_bad_annotators(planted):
    krippendorff = pytest.importorskip("krippendorff")
    metrics = pytest.importorskip("sklearn.metrics")
    store, planted = Store(f"sqlite:///{planted[0]}"), planted[2]
    table = project_quality(store, "s").table.set_index("annotator")
    gold = {(p, t): v for p, t, v in store.gold_tasks("s")[["protocol", "task_id", "expected"]].itertuples(index=False)}
    names = sorted(KINDS)
    for who in names:
        mine = {(p, t): v for (w, p, t), v in planted.given.items() if w == who}
        hits = [abs(int(v) - int(gold[key])) <= 1 if key[0] == "ratings" else v == gold[key]
                for key, v in mine.items() if key in gold]
        assert table.loc[who, "gold_n"] == len(hits) > 0
        assert table.loc[who, "gold_accuracy"] == pytest.approx(np.mean(hits))
        ratings = planted.order[who]
        runs = max(len(list(g)) for _, g in itertools.groupby(ratings))
        assert table.loc[who, "longest_run"] == runs
        shown = [s for (w, t), s in planted.shown.items() if w == who and s != "equal"]
        assert table.loc[who, "left_share"] == pytest.approx(shown.count("left") / len(shown))
    # leave-one-out alpha: krippendorff's own package on the regular tasks, coders x units
    regular = {k: v for k, v in planted.given.items() if (k[1], k[2]) not in gold}
    for protocol, level, code in (("ratings", "ordinal", float), ("rankings", "nominal",
                                                                   {"(a)": 0.0, "(b)": 1.0, "equal": 2.0}.get)):
        tasks = sorted({t for (_, p, t) in regular if p == protocol})
        data = np.array([[code(regular[(w, protocol, t)]) if (w, protocol, t) in regular else np.nan for t in tasks]
                         for w in names])
        for n, who in enumerate(names):
            others = np.delete(data, n, axis=0)
            expected = krippendorff.alpha(reliability_data=others, level_of_measurement=level)
            assert table.loc[who, f"alpha_{protocol}"] == pytest.approx(expected, abs=1e-9)
        # pairwise Cohen kappa with sklearn (everyone shares every task here: >= 20)
        for n, who in enumerate(names):
            kappas = [metrics.cohen_kappa_score(data[n], data[m]) for m in range(len(names)) if m != n]
            assert table.loc[who, f"kappa_{protocol}"] == pytest.approx(np.mean(kappas), abs=1e-9)
    # own protocol consistency: from what each annotator gave, by the paper's definition
    pairs, ratings_q = {}, {}
    for (w, p, t), v in regular.items():
        (pairs if p == "rankings" else ratings_q)[(w, t)] = v
    with store.db.read() as conn:
        rt = {(r.item_id, r.response_index): r.id for r in conn.execute(rating_tasks.select())}
        pt = {r.id: (rt[(r.item_id, r.index1)], rt[(r.item_id, r.index2)]) for r in conn.execute(pair_tasks.select())}
    for who in names:
        hits = []
        for (w, t), label in pairs.items():
            a, b = pt[t]
            if w == who and (w, a) in ratings_q and (w, b) in ratings_q:
                r1, r2 = int(ratings_q[(w, a)]), int(ratings_q[(w, b)])
                hits.append(label == ("(a)" if r1 > r2 else "(b)" if r1 < r2 else "equal"))
        assert table.loc[who, "consistency_n"] == len(hits) > 0
        assert table.loc[who, "consistency"] == pytest.approx(100 * np.mean(hits))
        low, high = wilson(sum(hits), len(hits))
        assert table.loc[who, "consistency_low"] == pytest.approx(low)
        assert table.loc[who, "consistency_low"] <= table.loc[who, "consistency"] <= table.loc[who, "consistency_high"]
    flagged = set(table.index[table["flags"] != ""])
    assert flagged == {"rand", "flat", "lefty"}
    assert "straight-lining" in table.loc["flat", "flags"] and "position bias" in table.loc["lefty", "flags"]
    assert "gold accuracy" in table.loc["rand", "flags"]
    assert table.loc["good1", "consistency"] > 80 and table.loc["rand", "consistency"] < 60


def test_excluding_changes_export_rows_and_consistency_and_including_restores_both_exactly(db_url):
    store, _, _ = _study(db_url, n_items=16, gold_every=0)

    def figures():
        bundle = frames_from_store(store, "s")
        result = consistency_between(bundle, ALL_HUMANS, ALL_HUMANS)[0]
        headline = consistency_page.show(store, "s", ALL_HUMANS, ALL_HUMANS)[2]
        rows = len(store.human_ratings("s")), len(store.human_rankings("s"))
        return (*rows, result.consistency, result.n_pairs, headline)

    before = figures()
    assert exclusion.exclude(store, "s", "boss", ["flat"], "planted straight-liner") == ["flat"]
    during = figures()
    answers = store.study_answers("s")
    theirs = answers[(answers["annotator"] == "flat") & answers["gold"].isna()]["protocol"].value_counts()
    assert theirs["ratings"] == 20 and theirs["rankings"] == 10  # 16 items, 6 of them gold
    assert during[:2] == (before[0] - 20, before[1] - 10) and during[2] != before[2]
    assert "of 6 annotators" in before[4] and "of 5 annotators (1 excluded)" in during[4]
    assert f"{during[2]:.2f} %" in during[4]  # the dashboard shows the new figure
    assert "flat" not in store.sources("s")["annotators"]
    assert exclusion.annotators_used(store, "s") == "human answers of 5 annotators (1 excluded)"
    assert len(store.study_answers("s")) == len(answers)  # kept, never deleted
    assert exclusion.include(store, "s", "boss", ["flat"]) == ["flat"]
    assert figures() == before
    log = store.study_log("s")
    assert log[["actor", "action", "target"]].values.tolist()[-2:] == [["boss", "exclude", "flat"],
                                                                       ["boss", "include", "flat"]]
    assert log["created_at"].notna().all()


def test_exclude_below_a_gold_accuracy_threshold_takes_exactly_those_annotators(planted, tmp_path):
    store = Store(_copy(planted, tmp_path))
    table = project_quality(store, "s").table
    low = sorted(table.loc[table["gold_accuracy"] < 0.6, "annotator"])
    assert low and "good1" not in low
    assert exclusion.exclude_below(store, "s", "boss", 0.6) == low
    assert sorted(store.excluded_annotators("s")) == low
    assert project_quality(store, "s").table.set_index("annotator").loc[low, "excluded"].all()


def test_annotators_command_prints_the_table_and_json(planted, tmp_path, capsys):
    url = _copy(planted, tmp_path)
    assert main(["annotators", "--project", "s", "--db", url, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["annotators"] == 6 and {r["annotator"] for r in out["table"]} == set(KINDS)
    assert {r["annotator"] for r in out["table"] if r["flags"]} == {"rand", "flat", "lefty"}
    assert main(["annotators", "--project", "s", "--db", url]) == 0
    text = capsys.readouterr().out
    assert "6 annotators" in text and "straight-lining" in text
    assert main(["exclude", "--project", "s", "--db", url, "--as", "boss", "flat"]) == 0
    assert "(1 excluded)" in capsys.readouterr().out
    assert main(["annotators", "--project", "nope", "--db", url]) == 2


def test_study_command_sets_and_logs_the_settings(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 's.db'}"
    Store(url).create_project_from_generation(small_generation(2, 2), "p")
    assert main(["study", "--project", "p", "--db", url, "--as", "boss", "--gold-every", "10", "--paired",
                 "--fast-seconds", "2"]) == 0
    assert "gold 1 in 10, paired design on" in capsys.readouterr().out
    store = Store(url)
    assert (store.study_settings("p").gold_every, store.study_settings("p").paired) == (10, True)
    assert store.study_log("p")["actor"].tolist() == ["boss"]
    assert main(["study", "--project", "p", "--db", url, "--gold-every", "-1"]) == 2


def test_import_gold_marks_the_tasks_a_feedback_file_names_and_a_bad_row_names_its_row(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 's.db'}"
    generation = small_generation(3, 2)
    Store(url).create_project_from_generation(generation, "p")
    rows = [(generation.instruction[i], generation.input[i], generation.responses[i][0], 6) for i in range(2)]
    good = tmp_path / "gold.csv"
    pd.DataFrame(rows, columns=["instruction", "input", "output", "rating"]).to_csv(good, index=False)
    assert main(["import", str(good), "--project", "p", "--gold", "--db", url]) == 0
    assert "2 ratings tasks marked gold" in capsys.readouterr().out
    pairs = tmp_path / "pairs.csv"
    pd.DataFrame([(generation.instruction[2], generation.input[2], generation.responses[2][1],
                   generation.responses[2][0], "(a)")],
                 columns=["instruction", "input", "output1", "output2", "feedback"]).to_csv(pairs, index=False)
    assert main(["import", str(pairs), "--project", "p", "--gold", "--db", url]) == 0
    frame = Store(url).gold_tasks("p")
    assert frame["expected"].tolist() == ["6", "6", "(b)"]  # the pair given reversed: stored in the pair's terms
    bad = tmp_path / "bad.csv"
    pd.DataFrame(rows + [("no such question", "", "nothing", 3)],
                 columns=["instruction", "input", "output", "rating"]).to_csv(bad, index=False)
    Store(url).clear_gold("p", "boss")
    assert main(["import", str(bad), "--project", "p", "--gold", "--db", url]) == 2
    err = capsys.readouterr().err
    assert "bad.csv" in err and "line 3" in err or "row 3" in err
    assert Store(url).gold_tasks("p").empty  # nothing half-written


def test_set_gold_refuses_a_task_of_another_project(db_url):
    store = Store(db_url)
    store.create_project_from_generation(small_generation(2, 2), "p")
    store.create_project_from_generation(small_generation(2, 2), "q")
    with pytest.raises(StoreError, match="no ratings task"):
        store.set_gold("p", "boss", [("ratings", 5, "3")])
    assert store.gold_tasks("p").empty


def test_a_study_link_lets_one_participant_in_continues_them_and_stops_at_the_quota(db_url):
    from sparse_feedback.study import links

    store = Store(db_url)
    store.create_project_from_generation(small_generation(10, 2), "p", overlap=2)
    made = links.create_link(store, "p", "boss", 3, "CODE1", "https://example.org/done")
    params = {"study": made.token, "PROLIFIC_PID": "abc", "STUDY_ID": "s1", "SESSION_ID": "x"}
    first = links.enter(store, params)
    assert first.project == "p" and "abc" not in first.annotator
    for wrong in ({**params, "study": "nope"}, {"PROLIFIC_PID": "abc"}, {**params, "PROLIFIC_PID": ""},
                  {"study": made.token}):
        with pytest.raises(links.StudyRefusal, match="not valid"):
            links.enter(store, wrong)
    assert store.study_links("p")["participants"].tolist() == [1]
    served = _answer_all(store, "p", first.annotator, "ratings")
    assert len(served) == 3  # the quota, then nothing more
    assert links.enter(store, {**params, "SESSION_ID": "y"}) == first  # the same participant id continues
    assert assignment.next_task(store, "p", first.annotator, "rankings") is None
    done = links.completion(store, first.annotator)
    assert done["completion_code"] == "CODE1" and done["redirect_url"] == "https://example.org/done"
    assert store.study_links("p")["completed"].tolist() == [1]
    other = links.enter(store, {"study": made.token, "participant": "zz"})
    assert other.annotator != first.annotator and links.completion(store, other.annotator) is None
    store.revoke_study_link("p", "boss", made.link_id)
    with pytest.raises(links.StudyRefusal):
        links.enter(store, params)
    assert store.study_log("p")["action"].tolist() == ["study link", "revoke link"]


def test_one_task_is_marked_gold_from_the_admin_form_and_a_bad_entry_is_refused(db_url):
    from sparse_feedback.ui import studies

    store = Store(db_url)
    store.create_project_from_generation(small_generation(3, 3), "p")
    assert "expected **6**" in studies.mark_one(store, "p", "boss", 1, "2", "6")
    assert "expected **(b)**" in studies.mark_one(store, "p", "boss", 2, "2,0", "a")  # (a) = response 2
    frame = store.gold_tasks("p")
    assert frame[["protocol", "item", "expected"]].values.tolist() == [["ratings", 1, "6"], ["rankings", 2, "(b)"]]
    assert frame["index1"].tolist()[1] == 0 and frame["index2"].tolist()[1] == 2
    for item, responses, expected, message in ((1, "2", "9", "1 to 7"), (1, "0,1", "maybe", r"\(a\), \(b\)"),
                                               (7, "0", "3", "no ratings task"), ("x", "0", "3", "numbers")):
        with pytest.raises(StoreError, match=message):
            studies.mark_one(store, "p", "boss", item, responses, expected)
    assert len(store.gold_tasks("p")) == 2


def test_each_planted_fast_answer_is_listed_once_newest_first_in_json_and_the_admin_panel(planted, tmp_path, capsys):
    from sqlalchemy import update

    from sparse_feedback.store.schema import annotations
    from sparse_feedback.ui.studies import fast_list, panel

    url = _copy(planted, tmp_path)
    store = Store(url)
    current = store.study_answers("s")
    ids = current["annotation_id"].tolist()
    planted_fast = {ids[3]: 0.4, ids[50]: 2.9, ids[51]: 1.0, ids[-1]: 0.0}  # both protocols, several annotators
    with store.db.write() as conn:
        conn.execute(update(annotations).values(seconds=12.0))
        conn.execute(update(annotations).where(annotations.c.id == ids[7]).values(seconds=3.0))  # at the threshold
        for annotation_id, seconds in planted_fast.items():
            conn.execute(update(annotations).where(annotations.c.id == annotation_id).values(seconds=seconds))
    store.set_study_settings("s", "boss", fast_seconds=3)
    out = current.set_index("annotation_id").loc[ids[3], "annotator"]
    store.set_excluded("s", "boss", [out], True)

    assert main(["annotators", "--project", "s", "--db", url, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["fast_answers"]
    expected = current[current["annotation_id"].isin(planted_fast)].sort_values(
        ["created_at", "annotation_id"], ascending=False)
    assert [r["annotation_id"] for r in listed] == expected["annotation_id"].tolist()
    assert {r["annotation_id"]: r["seconds"] for r in listed} == planted_fast
    for row, (_, want) in zip(listed, expected.iterrows()):
        assert (row["annotator"], row["protocol"], row["task_id"], row["item_id"]) == (
            want["annotator"], want["protocol"], want["task_id"], want["item_id"])
        assert row["excluded"] == (row["annotator"] == out) and row["created_at"]
    assert {r["protocol"] for r in listed} == {"ratings", "rankings"}

    shown = panel(store, "s")
    assert shown.fast_note.startswith("**4** answers under 3 s:") and len(shown.fast) == 4
    assert shown.fast["annotator"].tolist() == expected["annotator"].tolist()
    assert shown.quality.set_index("annotator")["fast"].sum() == 4
    note, capped = fast_list(project_quality(store, "s").fast, 3, cap=2)
    assert "(newest 2 listed)" in note and capped["seconds"].tolist() == [planted_fast[i] for i in
                                                                          expected["annotation_id"][:2]]
    store.set_study_settings("s", "boss", fast_seconds=0)
    assert panel(store, "s").fast.empty
