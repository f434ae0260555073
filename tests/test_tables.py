"""The Admin tab's jobs table reads as text: arguments as a line, never an object the browser prints as
``[object Object]``, reward models named by their folder, not their path."""

from pathlib import Path

from sparse_feedback.store import Store
from sparse_feedback.ui.best_of_n_demo import ensure_best_of_n_demo
from sparse_feedback.report.tables import jobs_table

ROOT = Path(__file__).resolve().parents[1]


def test_the_jobs_table_shows_arguments_as_readable_text(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARSE_FEEDBACK_HOME", str(tmp_path / "home"))
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    ensure_best_of_n_demo(store, ROOT / "assets" / "demo" / "best_of_n")
    table = jobs_table(store.jobs())
    assert list(table.columns) == ["Job", "Kind", "Status", "Settings", "Started", "Message"]
    settings = table.loc[0, "Settings"]
    assert isinstance(settings, str) and "reward models demo-ratings-rm, demo-rankings-rm" in settings
    assert "/" not in settings and "None" not in settings
    store.close()


def test_dashboard_numbers_read_to_two_decimals_with_human_headers():
    """No 23.333333333333332 or 0.047619…: one number of places per column, NaN as a dash, ± intervals joined."""
    import pandas as pd

    from sparse_feedback.report.tables import readable

    frame = pd.DataFrame({"protocol": ["ratings", "rankings"], "consistency": [23.333333333333332, 60.0],
                          "n_pairs": [117, 60], "kappa": [0.047619047619, float("nan")],
                          "win_rate": [58.33333, 41.0], "ci95": [20.30501, float("nan")]})
    shown = readable(frame, intervals={"win_rate": "ci95"})
    assert list(shown.columns) == ["Protocol", "Consistency %", "Pairs", "Cohen's κ", "Win-rate %"]
    assert shown.to_dict("list") == {"Protocol": ["ratings", "rankings"], "Consistency %": ["23.33", "60.00"],
                                     "Pairs": ["117", "60"], "Cohen's κ": ["0.05", "–"],
                                     "Win-rate %": ["58.3 ± 20.3", "41.0"]}


def test_trained_models_are_named_by_folder_not_by_server_path():
    import pandas as pd

    from sparse_feedback.report.tables import reward_models_table

    shown = reward_models_table(pd.DataFrame({"model_dir": ["/srv/data/reward_models/demo-rankings-rm"],
                                              "accuracy": [0.2222222], "steps": [96]}))
    assert shown.to_dict("records") == [{"Reward model": "demo-rankings-rm", "Accuracy": "0.22", "Steps": "96"}]


def test_the_consistency_tab_of_a_project_without_feedback_opens_on_a_sentence(tmp_path):
    from sparse_feedback.analysis.sources import frames_from_store
    from sparse_feedback.ui import dashboards
    from tests.appserver import small_generation

    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    store.create_project_from_generation(small_generation(2, 2), "fresh")
    names, ratings_from, rankings_from, headline, heatmap, grid_figure, grid = dashboards.consistency(
        frames_from_store(store, "fresh"), None, None)
    assert names == [] and ratings_from is None and heatmap is None and grid.empty
    assert headline.startswith("No ratings or rankings in this project yet")
