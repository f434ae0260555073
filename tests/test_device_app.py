"""The app's Train, Best-of-n and LLM tabs: a device choice (auto/cuda/cpu, precision for training), what auto
means here shown, and one clear refusal of what this machine cannot do, before any work (no GPU: mocked)."""

from pathlib import Path

import gradio as gr
import pytest
import torch

from pages import best_of_n as bon_page, llm as llm_page, train as train_page
from sparse_feedback.device import DeviceError, auto_note
from sparse_feedback.errors import SettingsError, UserError
from sparse_feedback.jobs import best_of_n as bon, llm, runner, training
from sparse_feedback.store import Store
from tests.appserver import small_generation

ROOT = Path(__file__).resolve().parents[1]


class Allow:
    """An access checker that lets the caller through (the handlers are called as plain functions)."""

    def require(self, *a, **k):
        pass

    def admin(self, *a, **k):
        pass


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARSE_FEEDBACK_HOME", str(tmp_path / "home"))
    s = Store(f"sqlite:///{tmp_path / 'sf.db'}")
    s.create_project_from_generation(small_generation(2, 3), "p")
    yield s
    s.close()


@pytest.fixture
def no_spawn(monkeypatch):
    started = []
    monkeypatch.setattr(runner, "spawn", lambda store, job_id, cmd, *a, **k: started.append(cmd))
    return started


def test_a_device_error_is_a_user_error_so_cli_and_app_show_one_line():
    assert issubclass(DeviceError, SettingsError) and issubclass(DeviceError, UserError)


def test_auto_note_says_what_auto_means_here(no_gpu):
    assert auto_note() == "auto here: CPU, float32 (no CUDA GPU found)"


@pytest.mark.parametrize("options, words", [({"device": "cuda"}, "no CUDA GPU"),
                                            ({"dtype": "bfloat16"}, "bfloat16 weights need a CUDA GPU"),
                                            ({"load_in_8bit": True}, "8-bit weights")])
def test_training_refuses_what_the_cpu_cannot_do_before_writing_anything(tmp_path, store, no_gpu, no_spawn, options,
                                                                        words):
    with pytest.raises(DeviceError, match=words):
        training.start_training(store, "rankings", tmp_path / "t.csv", output_dir=tmp_path / "run", **options)
    with pytest.raises(DeviceError, match=words):
        training.start_project_training(store, "p", "llm", "rankings", **options)
    assert not (tmp_path / "run").exists() and store.jobs("train").empty and not no_spawn


def test_the_train_job_gets_the_device_and_precision(tmp_path, store, no_gpu, no_spawn):
    training.start_training(store, "rankings", tmp_path / "t.csv", output_dir=tmp_path / "run", device="cpu",
                            dtype="float32")
    cmd = no_spawn[0]
    assert cmd[cmd.index("--device") + 1] == "cpu" and cmd[cmd.index("--dtype") + 1] == "float32"


def test_train_tab_refuses_bf16_without_a_gpu_in_one_message(store, no_gpu, no_spawn):
    with pytest.raises(gr.Error, match="bfloat16 weights need a CUDA GPU"):
        train_page.start(store, Allow(), "root", "p", "llm", "rankings", "smollm2-135m", 1, 8, 1e-4, 512, 32, False,
                         False, "auto", "bfloat16", False, None)
    assert not no_spawn


def test_train_tab_shows_the_device(store, no_gpu):
    _, _, _, device, *_ = train_page.show(store, Allow(), "root", None, None)
    assert "CPU, float32" in device and device.count("float32") == 1  # the device named once


def _rm_dir(tmp_path) -> str:
    rm = tmp_path / "rm"
    rm.mkdir(exist_ok=True)
    (rm / "reward_config.json").write_text("{}", encoding="utf-8")
    return str(rm)


def test_best_of_n_settings_refuse_cuda_without_a_gpu_and_keep_the_device(tmp_path, no_gpu):
    with pytest.raises(DeviceError, match="no CUDA GPU"):
        bon.BestOfNSettings(reward_models=[_rm_dir(tmp_path)], device="cuda").check()
    bon.BestOfNSettings(reward_models=[_rm_dir(tmp_path)], device="cpu").check()


def test_best_of_n_tab_refuses_cuda_before_starting_a_job(tmp_path, store, no_gpu, no_spawn, monkeypatch):
    with pytest.raises(gr.Error, match="no CUDA GPU"):
        bon_page.start(store, Allow(), "root", "p", "current project", 2, "smollm2-135m", 2, 16, _rm_dir(tmp_path),
                       None, "", "", "", "", "cuda", None)
    assert store.jobs(bon.JOB_KIND).empty and not no_spawn


def test_best_of_n_job_passes_its_device_to_every_local_model(tmp_path, monkeypatch):
    from sparse_feedback.pipeline import stages

    seen = {}
    settings = bon.BestOfNSettings(reward_models=[_rm_dir(tmp_path)], device="cpu", judge_model="j")
    monkeypatch.setattr(stages, "policy_backend", lambda policy, device="auto": seen.setdefault("policy", device))
    monkeypatch.setattr(stages, "sample", lambda *a, **k: None)
    monkeypatch.setattr(stages, "greedy_reference", lambda *a, **k: None)
    monkeypatch.setattr(bon.formats, "read_instructions", lambda path: None)
    bon._sample(tmp_path, settings)

    class Judge:
        def __enter__(self):
            raise StopIteration

        def __exit__(self, *a):
            return False

    monkeypatch.setattr(stages, "open_judge", lambda *a, device="auto", **k: (seen.setdefault("judge", device),
                                                                                Judge())[1])
    monkeypatch.setattr(bon.formats, "read_model_outputs", lambda path: None)
    with pytest.raises(StopIteration):
        bon._evaluate(tmp_path, settings)
    assert seen == {"policy": "cpu", "judge": "cpu"}


def test_llm_tab_refuses_a_local_model_on_cuda_without_a_gpu(store, no_gpu):
    with pytest.raises(gr.Error, match="no CUDA GPU"):
        llm_page.run(store, Allow(), "root", "p", "ratings", "", "smollm2-135m", "", "Live", "cuda", None,
                     progress=lambda *a, **k: None)
    assert store.jobs("judge").empty


def test_llm_judge_runs_a_local_model_on_the_chosen_device(store, no_gpu, monkeypatch):
    seen = {}

    def fake_backend(name, model, device="auto", **kw):
        seen.update(name=name, device=device)
        raise RuntimeError("stop here")

    monkeypatch.setattr(llm.judge, "make_backend", fake_backend)
    with pytest.raises(UserError, match="stop here"):
        llm.run_llm_judge(store, "p", "ratings", "", "smollm2-135m", device="cpu")
    assert seen == {"name": "transformers", "device": "cpu"}
