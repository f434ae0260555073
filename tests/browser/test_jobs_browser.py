"""The job tabs in Debian chromium tell the truth about their jobs: Stop is lit only while a job (an import) runs,
the Train tab's Log box shows the run's own step lines and the real reason it ended (a SIGKILL is "killed by the
system (out of memory?) at step N/T"), the loss curve starts at the first logged step, the device is named once,
Best-of-n shows where a long batch is with elapsed time and an ETA, keeps a reload on the running job and shows no
other job's results below it, and the LLM tab says why a run failed. Screenshots go to test-artifacts/."""

from __future__ import annotations

import os
import re
import signal
import time

import pandas as pd
import pytest

from sparse_feedback import formats
from tests.appserver import ROOT, running_app, small_generation
from tests.browser.chromium import browser, signed_in_page  # noqa: F401 (a fixture)
from tests.fake_openai import FakeJudgeServer
from tests.tiny_models import tiny_causal_lm, tiny_reward_model

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]
ARTIFACTS = ROOT / "test-artifacts"
WIDE = {"width": 1400, "height": 1000}


def _setup(store):
    store.create_project_from_generation(small_generation(4, 3), "p", overlap=1)
    tasks = formats.ranking_tasks(store.items_frame("p")).rename(columns={"response1": "output1",
                                                                          "response2": "output2"})
    tasks["feedback"] = ["(a)", "(b)"] * (len(tasks) // 2)
    store.import_llm_rankings("p", tasks, "judge-model")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """One app for the module (import chunks slowed, so an import runs long enough to be stopped) and tiny models."""
    root = tmp_path_factory.mktemp("jobs-browser")
    models = root / "models"
    policy = tiny_causal_lm(models / "policy")
    rm = tiny_reward_model(models / "rm", policy)
    os.environ["SPARSE_FEEDBACK_IMPORT_PAUSE"] = "0.4"  # read by the import's own process
    try:
        with running_app(root, setup=_setup) as (url, store):
            yield url, store, root, policy, rm
    finally:
        os.environ.pop("SPARSE_FEEDBACK_IMPORT_PAUSE", None)


def _admin(browser, url, tab: str):
    page = signed_in_page(browser, url, "root", [])
    page.set_viewport_size(WIDE)
    page.get_by_role("tab", name=tab, exact=True).click(timeout=60_000)
    page.wait_for_timeout(1500)
    return page


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"jobs-{name}.png"), full_page=True)


def _wait(condition, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)
    return found


def test_the_train_tab_shows_stop_log_curve_device_and_the_real_reason_a_killed_run_ended(browser, app):
    from playwright.sync_api import expect

    from sparse_feedback.device import describe
    from sparse_feedback.jobs import training

    url, store, _, policy, _ = app
    page = _admin(browser, url, "Train")
    stop = page.locator("#train-stop")
    expect(page.locator("#train-status")).to_contain_text("No training job", timeout=20_000)
    expect(stop).to_be_disabled()  # nothing to stop yet
    device = page.locator("#train-device").inner_text()
    assert device.count(describe()) == 1, device  # the device named once

    job_id, out = training.start_project_training(store, "p", "llm", "rankings", model=str(policy), max_steps=100000,
                                                  batch_size=1, lr=1e-3, eval_split=0.25)
    page.get_by_role("button", name="Refresh").click()
    expect(page.locator("#train-status")).to_contain_text(f"#{job_id} running", timeout=30_000)
    expect(stop).to_be_enabled(timeout=10_000)
    log = page.locator("#train-log textarea")
    expect(log).to_have_value(re.compile(r"step \d+/100000 · loss \d\.\d{4} · [\d.]+ pairs/s · elapsed \d+:\d\d"
                                         r" · ETA \d+:\d\d"), timeout=60_000)
    shown = log.input_value()
    assert not re.search(r"it/s|%\||Loading weights|Warning|MISSING|newly initialized", shown), shown
    first = page.evaluate("() => document.querySelector('#train-curve .js-plotly-plot').data[0].x[0]")
    assert first == 1  # the curve starts at the first logged step
    _wait(lambda: len(training.read_log(out)) >= 5)

    os.kill(store.job(job_id)["pid"], signal.SIGKILL)  # what the kernel's out-of-memory killer does
    killed = re.compile(r"killed by the system \(out of memory\?\) at step \d+/100000")
    expect(page.locator("#train-status")).to_contain_text(killed, timeout=20_000)
    expect(log).to_have_value(re.compile(r"failed: killed by the system \(out of memory\?\) at step \d+/100000$"))
    expect(stop).to_be_disabled()
    expect(page.locator("#train-job input")).to_have_value(re.compile(f"#{job_id} .* failed$"), timeout=10_000)
    page.locator("#train-full-log").click()  # the console output (bars, load reports, warnings) is one click away
    link = page.locator("#train-log-file a")
    expect(link).to_have_attribute("href", re.compile(f"train-job-{job_id}.log$"), timeout=10_000)
    assert "Loading weights" in page.request.get(link.get_attribute("href")).text()  # what the box leaves out
    _shot(page, "train-killed")
    page.close()


def test_best_of_n_shows_batch_progress_keeps_a_reload_on_the_running_job_and_no_other_results(browser, app):
    from playwright.sync_api import expect

    from sparse_feedback.ui import best_of_n as bon

    url, store, _, policy, rm = app
    many = pd.DataFrame({"instruction": [f"Write a long story about the number {i}." for i in range(200)],
                         "input": ""})
    settings = bon.BestOfNSettings(policy=str(policy), n=16, max_new_tokens=512, reward_models=[str(rm)],
                                   batch_size=8)
    job_id = bon.start_job(store, many, settings)
    page = _admin(browser, url, "Best-of-n")
    progress, stop = page.locator("#bon-progress"), page.locator("#bon-stop")
    # After a (re)load the picker is on the running job, not on the newest finished one (the shipped demo's).
    expect(page.get_by_label("Job")).to_have_value(re.compile(f"#{job_id} · running"), timeout=30_000)
    expect(progress).to_contain_text(re.compile(r"generate: \d+/200 · next 8 instruction\(s\) x 16 sample\(s\): "
                                                r"token \d+/512 · elapsed \d+:\d\d"), timeout=60_000)
    expect(progress).to_contain_text("ETA", timeout=30_000)
    expect(page.locator("#bon-summary")).to_contain_text(f"Job #{job_id} is running")
    assert page.locator("#bon-view").inner_text().strip() == ""  # nothing of another job below this one
    expect(stop).to_be_enabled(timeout=10_000)
    _shot(page, "best-of-n-running")
    stop.click()
    expect(progress).to_contain_text("stopped", timeout=20_000)
    expect(stop).to_be_disabled(timeout=10_000)
    expect(page.locator("#bon-resume")).to_be_enabled()
    expect(page.get_by_label("Job")).to_have_value(re.compile(f"#{job_id} · stopped"), timeout=10_000)
    page.close()


def test_stop_import_is_lit_only_while_an_import_runs(browser, app):
    from playwright.sync_api import expect

    url, store, root, _, _ = app
    upload = root / "many.json"
    formats.write_table(small_generation(2500, 2), upload)
    page = _admin(browser, url, "Import")
    stop = page.get_by_role("button", name="Stop import")
    expect(stop).to_be_disabled()
    page.locator("input[type=file]").first.set_input_files(str(upload))
    page.get_by_label("New project name").fill("big")
    page.wait_for_timeout(1000)
    page.get_by_role("button", name="Create project").click()
    expect(stop).to_be_enabled(timeout=30_000)
    stop.click()
    expect(page.locator("#import-message")).to_contain_text("stopped", timeout=30_000)
    expect(stop).to_be_disabled(timeout=10_000)
    assert "big" not in [p.name for p in store.projects()]
    page.close()


def test_the_llm_tab_says_why_a_run_failed(browser, app):
    from playwright.sync_api import expect

    url, store, _, _, _ = app
    with FakeJudgeServer(fault=lambda prompt, attempt: "garbage") as server:  # no task gets a usable answer
        page = _admin(browser, url, "LLM")
        page.get_by_label("Base URL (empty: run the model on this machine)").fill(server.base_url)
        page.get_by_label("Model", exact=True).fill("fake-judge")
        page.get_by_role("button", name="Run judge").click()
        toast = page.locator(".toast-body").filter(has_text="the judge run failed")
        expect(toast).to_be_visible(timeout=60_000)
        text = toast.inner_text()
    assert "every one of the 12 tasks failed" in text and "unparsable answer" in text, text
    assert "Done" not in page.locator("#llm-message").inner_text()
    assert store.jobs("judge")["status"].tolist()[0] == "failed"
    page.close()
