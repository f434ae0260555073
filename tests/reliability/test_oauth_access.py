"""Hugging Face sign-in on a Space: the app shows Gradio's login button, takes the identity from the OAuth
session (never from a typed name), and gives admin rights only to ``SPARSE_FEEDBACK_ADMINS``.

The Space is simulated with the environment a Space sets (``SPACE_ID``, ``OAUTH_*``); the OAuth dance with
huggingface.co cannot run offline, so the test signs the session cookie that Gradio's callback would set,
with the key Gradio derives from ``OAUTH_CLIENT_SECRET``."""

from __future__ import annotations

import base64
import hashlib
import json
import time

import httpx
import pytest
from itsdangerous import TimestampSigner

from sparse_feedback.store import Store
from tests.appserver import small_generation
from tests.reliability.appproc import AppProcess
from tests.reliability.rawhttp import queue_call

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(180)]
SECRET = "space-oauth-secret"
SPACE_ENV = {"SYSTEM": "spaces", "SPACE_ID": "team/sparse-feedback", "OAUTH_CLIENT_ID": "client-id", "OAUTH_CLIENT_SECRET": SECRET,
             "OAUTH_SCOPES": "openid profile", "OPENID_PROVIDER_URL": "http://127.0.0.1:9",
             "SPARSE_FEEDBACK_ADMINS": "hf-lead"}


def session_cookie(username: str, expires_in: float = 3600, token: str = "hf_x",
                   scope: str = "openid profile") -> str:
    """The signed ``session`` cookie Gradio's OAuth callback sets after a successful sign-in (with the access token
    and scopes it was granted: a handler taking ``gr.OAuthToken`` reads both)."""
    info = {"userinfo": {"preferred_username": username, "name": username}, "access_token": token,
            "scope": scope, "token_type": "bearer", "expires_at": time.time() + expires_in}
    payload = base64.b64encode(json.dumps({"oauth_info": info}).encode())
    key = hashlib.sha256((SECRET + "-v4").encode()).hexdigest()
    return TimestampSigner(key).sign(payload).decode()


def caller(url: str, username: str | None = None, **kw) -> httpx.Client:
    headers = {"Cookie": f"session={session_cookie(username, **kw)}"} if username else {}
    return httpx.Client(base_url=url, timeout=30, headers=headers)


@pytest.fixture(scope="module")
def space(tmp_path_factory):
    home = tmp_path_factory.mktemp("space")
    store = Store(f"sqlite:///{home / 'sparse_feedback.db'}")
    store.create_project_from_generation(small_generation(2, 3), "p", overlap=2)
    store.close()
    with AppProcess(home, users="", **SPACE_ENV) as app:
        yield app


def call(client: httpx.Client, api_name: str, data: list) -> dict:
    config = client.get("/config").json()
    fn = {d["api_name"]: d["id"] for d in config["dependencies"]}[api_name]
    return queue_call(client, fn, data)


@pytest.mark.slow
def test_the_page_offers_the_hugging_face_sign_in(space):
    config = httpx.get(space.url + "config", timeout=30).json()
    assert any(c.get("props", {}).get("elem_id") == "hf-login" for c in config["components"])
    # Gradio's OAuth routes are mounted (the redirect to huggingface.co itself needs the network).
    assert httpx.get(space.url + "login/huggingface", timeout=30, follow_redirects=False).status_code != 404


@pytest.mark.slow
def test_the_identity_is_the_hugging_face_account_not_a_typed_name(space):
    with caller(space.url, "hf-annotator") as c:
        view = call(c, "rate_show", ["p", "hf-lead"])  # typing the admin's name changes nothing
        assert view["success"] and view["data"][1].startswith("**hf-annotator**"), view
        refused = call(c, "export", ["hf-lead", "p", "ratings", "human", "csv"])
        assert not refused["success"] and "only a researcher or an admin" in (refused["error"] or "")
    with caller(space.url) as anonymous:
        assert "sign in" in call(anonymous, "rate_show", ["p", "hf-annotator"])["data"][1]
    with caller(space.url, "hf-annotator", expires_in=-10) as expired:
        assert "sign in" in call(expired, "rate_show", ["p", "hf-annotator"])["data"][1]


@pytest.mark.slow
def test_accounts_listed_as_admins_get_the_admin_actions(space):
    with caller(space.url, "hf-lead") as lead:
        exported = call(lead, "export", ["", "p", "ratings", "human", "csv"])
        assert exported["success"], exported
