"""A bad setting read when ``python app.py`` starts (users, roles, public mode, port, sessions, upload limit,
trusted proxies, store) is one line naming the variable and the entry, exit 2 — before the store is opened."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import app as app_module

ROOT = Path(__file__).resolve().parents[1]
BAD = {
    "users entry": ({"SPARSE_FEEDBACK_USERS": "alice:pw,bob"}, ["SPARSE_FEEDBACK_USERS", "entry 2"]),
    "users role": ({"SPARSE_FEEDBACK_USERS": "alice:pw:boss"}, ["SPARSE_FEEDBACK_USERS", "entry 1", "boss"]),
    "users file": ({"SPARSE_FEEDBACK_USERS_FILE": "/nonexistent/users.txt"}, ["/nonexistent/users.txt"]),
    "admins": ({"SPARSE_FEEDBACK_ADMINS": "ok," + "x" * 300}, ["SPARSE_FEEDBACK_ADMINS", "entry 2"]),
    "public": ({"SPARSE_FEEDBACK_PUBLIC": "maybe"}, ["SPARSE_FEEDBACK_PUBLIC", "maybe"]),
    "local": ({"SPARSE_FEEDBACK_LOCAL": "sure"}, ["SPARSE_FEEDBACK_LOCAL", "sure"]),
    "port": ({"GRADIO_SERVER_PORT": "http"}, ["GRADIO_SERVER_PORT", "http"]),
    "port range": ({"GRADIO_SERVER_PORT": "70000"}, ["GRADIO_SERVER_PORT", "70000"]),
    "sessions": ({"SPARSE_FEEDBACK_SESSIONS": "many"}, ["SPARSE_FEEDBACK_SESSIONS", "many"]),
    "upload limit": ({"SPARSE_FEEDBACK_MAX_UPLOAD_MB": "big"}, ["SPARSE_FEEDBACK_MAX_UPLOAD_MB", "big"]),
    "proxies": ({"SPARSE_FEEDBACK_TRUSTED_PROXIES": "127.0.0.1,proxy.lan"},
                ["SPARSE_FEEDBACK_TRUSTED_PROXIES", "entry 2", "proxy.lan"]),
    "synchronous": ({"SPARSE_FEEDBACK_SQLITE_SYNCHRONOUS": "OFF"}, ["SPARSE_FEEDBACK_SQLITE_SYNCHRONOUS", "OFF"]),
    "database": ({"SPARSE_FEEDBACK_DB": "nonsense"}, ["SPARSE_FEEDBACK_DB"]),
}
SETTINGS = {k for env, _ in BAD.values() for k in env} | {"SPARSE_FEEDBACK_USERS", "SPARSE_FEEDBACK_USERS_FILE"}


@pytest.fixture
def clean_env(tmp_path, monkeypatch):
    for key in SETTINGS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("SPARSE_FEEDBACK_HOME", str(tmp_path / "home"))

    def launch(*args, **kwargs):
        raise AssertionError("the app was launched with a bad setting")

    monkeypatch.setattr(app_module.gr.Blocks, "launch", launch)
    return tmp_path / "home"


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_start_setting_is_one_line_naming_it_and_exit_2_before_the_store_opens(case, clean_env, monkeypatch,
                                                                                   capsys):
    env, words = BAD[case]
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SystemExit) as exited:
        app_module.main()
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    assert all(word in err for word in words), err
    assert ":pw" not in err  # no password is echoed
    assert not clean_env.exists() or not any(clean_env.iterdir())  # nothing opened, nothing written


@pytest.mark.slow  # a fresh interpreter imports Gradio
def test_python_app_py_with_a_bad_users_entry_prints_one_line_and_exits_2(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    env.update(SPARSE_FEEDBACK_HOME=str(tmp_path / "home"), SPARSE_FEEDBACK_USERS="alice:alice-pw:annotator, bob")
    done = subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == ["error: SPARSE_FEEDBACK_USERS: entry 2: expected name:password[:role[:projects]], found 'bob'..."]
    assert "alice-pw" not in done.stderr + done.stdout


def test_forwarded_addresses_are_believed_from_no_one_by_default_and_from_the_spaces_proxy_on_a_space(monkeypatch):
    from sparse_feedback.ui.startup import trust_proxies

    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "127.0.0.1")  # restored after the test
    for key in ("SPARSE_FEEDBACK_TRUSTED_PROXIES", "SYSTEM", "SPACE_ID"):
        monkeypatch.delenv(key, raising=False)
    trust_proxies()
    assert os.environ["FORWARDED_ALLOW_IPS"] == ""  # not even loopback (uvicorn's own default)
    monkeypatch.setenv("SYSTEM", "spaces")
    monkeypatch.setenv("SPACE_ID", "someone/sparse-feedback")
    trust_proxies()
    assert os.environ["FORWARDED_ALLOW_IPS"] == "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16"
    monkeypatch.setenv("SPARSE_FEEDBACK_TRUSTED_PROXIES", "10.1.2.3")  # the admin's list wins
    trust_proxies()
    assert os.environ["FORWARDED_ALLOW_IPS"] == "10.1.2.3"
