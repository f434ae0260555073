"""The Train tab through the app's HTTP API: admins only, clear refusals, trained models listed."""

from pathlib import Path

import pytest

from tests.appserver import running_app, small_generation
from tests.test_app_client import client

pytestmark = pytest.mark.timeout(180)
START = ("ratings", "smollm2-135m", 1, 8, 1e-4, 512, 32, False)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app with one project and no feedback yet."""
    setup = lambda store: store.create_project_from_generation(small_generation(2, 3), "p")  # noqa: E731
    with running_app(tmp_path_factory.mktemp("app"), setup=setup) as (url, store):
        yield url, store


@pytest.mark.slow
def test_annotators_cannot_start_or_stop_training(server):
    url, store = server
    alice = client(url, "alice")
    with pytest.raises(Exception, match="only a researcher or an admin"):
        alice.predict("", "p", "llm", *START, api_name="/train_start")
    with pytest.raises(Exception, match="only a researcher or an admin"):
        alice.predict("", "1", api_name="/train_stop")
    assert store.jobs("train").empty


@pytest.mark.slow
def test_training_without_feedback_is_refused_with_a_reason(server):
    url, store = server
    with pytest.raises(Exception, match="no llm ratings feedback"):
        client(url, "root").predict("", "p", "llm", *START, api_name="/train_start")
    assert store.jobs("train").empty


@pytest.mark.slow
def test_admin_sees_the_device_and_only_the_shipped_demo_models(server):
    from sparse_feedback.device import describe

    url, _ = server
    root = client(url, "root")
    jobs, models = root.predict("", api_name="/train_list")
    listed = {(row[0], row[1]) for row in models["data"]}  # named by folder, never by a server path
    assert listed == {("demo-ratings-rm", "ratings"), ("demo-rankings-rm", "rankings")}
    status, _, _, device, *_ = root.predict("", None, api_name="/train_show")
    assert "No training job" in status and ("CPU" in device or "GPU" in device)
    assert device.count(describe()) == 1  # the device named once


def test_the_loss_curve_shows_from_the_first_logged_step():
    """One logged step is a visible point (a line alone needs two), with evaluation metrics on the right axis."""
    from pages.train import curve

    fig = curve([{"step": 1, "loss": 0.69}])
    assert list(fig.data[0].x) == [1] and "markers" in fig.data[0].mode
    fig = curve([{"step": 1, "loss": 0.69}, {"step": 2, "loss": 0.6, "eval_accuracy": 0.5}])
    assert [t.name for t in fig.data] == ["train loss", "accuracy"] and fig.data[1].yaxis == "y2"


def test_a_model_trained_while_the_app_runs_is_offered_in_best_of_n(tmp_path, monkeypatch):
    """The reward-model pickers read the data home when opened, so a model the Train tab just finished is there
    without a restart (under its protocol and folder name, not its path)."""
    import json

    from pages import best_of_n

    monkeypatch.setenv("SPARSE_FEEDBACK_HOME", str(tmp_path))
    assert best_of_n._model_choices() == []
    model = tmp_path / "reward_models" / "p-llm-rankings-20261201-040000"
    model.mkdir(parents=True)
    (model / "reward_config.json").write_text(json.dumps({"protocol": "rankings"}))  # written when training ends
    (label, path), = best_of_n._model_choices()
    assert path == str(model) and "rankings" in label and "p-llm-rankings-20261201-040000" in label
