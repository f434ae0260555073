"""Issue 22 in the app: the Export tab and the trained-models table push to the (fake) Hub, admins only; a Space
keeps its data on persistent storage, or says at start that annotations are lost on restart."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from gradio_client import Client

from sparse_feedback import formats, settings
from sparse_feedback.formats.cards import DATA_PATH, front_matter
from tests.appserver import running_app, small_generation
from tests.hub_fixtures import hub_in_process  # noqa: F401  (a fixture)


def _setup(store):
    store.create_project_from_generation(small_generation(2, 3), "p", overlap=1)
    store.import_llm_ratings("p", formats.rating_tasks(store.items_frame("p")).rename(columns={"response": "output"})
                             .assign(rating=4), "judge-x")


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_admins_push_an_export_and_a_trained_model_from_the_app_and_annotators_may_not(hub_in_process, tmp_path):
    hub = hub_in_process
    with running_app(tmp_path, setup=_setup) as (url, store):
        admin = Client(url, auth=("root", "root-pw"), verbose=False)
        message = admin.predict("", "p", "ratings", "llm", "tester/app-ratings", True, api_name="/export_push")
        assert "pushed p ratings (llm)" in message
        rows = pd.read_parquet(io.BytesIO(hub.files("tester/app-ratings")[DATA_PATH]))
        assert rows.to_dict("records") == store.feedback("p", "ratings", "llm").to_dict("records")
        facts = front_matter(hub.files("tester/app-ratings")["README.md"].decode())["sparse_feedback"]
        assert facts["source"] == "llm" and facts["judges"] == ["judge-x"] and facts["counts"]["4"] == 6
        assert hub.repo("tester/app-ratings").private
        again = admin.predict("", "p", "ratings", "llm", "tester/app-ratings", True, api_name="/export_push")
        assert "unchanged" in again and len(hub.commits("tester/app-ratings")) == 2

        model_dir = str(settings.home() / "reward_models" / "demo-rankings-rm")
        pushed = admin.predict("", model_dir, "tester/demo-rm", False, api_name="/train_push")
        assert "pushed the reward model" in pushed
        files = hub.files("tester/demo-rm", kind="model")
        assert json.loads(files["reward_config.json"])["protocol"] == "rankings"
        assert front_matter(files["README.md"].decode())["sparse_feedback"]["held_out"] == 9
        with pytest.raises(Exception, match="not one of the trained reward models"):
            admin.predict("", str(tmp_path), "tester/other", False, api_name="/train_push")

        alice = Client(url, auth=("alice", "alice-pw"), verbose=False)
        with pytest.raises(Exception):
            alice.predict("", "p", "ratings", "llm", "tester/alice", True, api_name="/export_push")
        assert ("dataset", "tester/alice") not in hub.repos


def test_on_a_space_with_persistent_storage_the_data_home_is_there_and_the_log_says_so(monkeypatch, tmp_path):
    monkeypatch.delenv("SPARSE_FEEDBACK_HOME", raising=False)
    monkeypatch.setenv("SPACE_ID", "someone/sparse-feedback")
    monkeypatch.setattr(settings, "SPACE_STORAGE", tmp_path)
    assert settings.home() == tmp_path
    note, loses = settings.space_storage_note()
    assert not loses and str(tmp_path) in note and "persistent storage" in note


def test_on_a_space_without_persistent_storage_the_app_says_annotations_are_lost_on_restart(monkeypatch, tmp_path):
    monkeypatch.delenv("SPARSE_FEEDBACK_HOME", raising=False)
    monkeypatch.setenv("SPACE_ID", "someone/sparse-feedback")
    monkeypatch.setattr(settings, "SPACE_STORAGE", tmp_path / "not-mounted")
    assert str(settings.home()) == "data"
    note, loses = settings.space_storage_note()
    assert loses and "annotations are lost when the Space restarts" in note and "Hub" in note
    monkeypatch.setenv("SPARSE_FEEDBACK_HOME", str(tmp_path / "elsewhere"))  # a home off the storage: lost too
    assert settings.space_storage_note()[1]
    monkeypatch.delenv("SPACE_ID")
    assert settings.space_storage_note() is None  # off a Space: nothing to say


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_the_app_on_a_space_without_storage_shows_the_warning_on_the_page(monkeypatch, tmp_path):
    import httpx

    monkeypatch.setattr(settings, "SPACE_STORAGE", tmp_path / "not-mounted")
    with running_app(tmp_path, users=None, extra_env={"SPACE_ID": "someone/sf"}) as (url, _):
        config = httpx.get(url.rstrip("/") + "/config").text
    assert "annotations are lost when the Space restarts" in config


@pytest.mark.slow
def test_a_hub_reward_model_typed_in_the_best_of_n_picker_becomes_a_folder_the_job_accepts(hub_in_process):
    """The Best-of-n tab passes what is typed through ``hub_model_dir``: OWNER/NAME is downloaded from the Hub."""
    from sparse_feedback.reward.hub import hub_model_dir, push_reward_model
    from sparse_feedback.ui import best_of_n as bon
    from tests.appserver import ROOT

    demo = ROOT / "assets" / "demo" / "best_of_n" / "rm_ratings"
    assert push_reward_model(demo, "tester/ratings-rm").changed
    local = hub_model_dir("tester/ratings-rm")
    assert local != demo and (local / "adapter_model.safetensors").read_bytes() == (
        demo / "adapter_model.safetensors").read_bytes()
    bon.BestOfNSettings(policy="p", reward_models=[str(local)], device="cpu").check()  # a trained RM folder
    assert bon.rm_label(str(local)).startswith("ratings RM")
