"""The sign-in throttle cannot be sidestepped: failures count against the user name however the form is encoded
(url-encoded, multipart, JSON), a form naming nobody never locks out others, and the client address comes from
``X-Forwarded-For`` only when the peer is a proxy the admin named (``SPARSE_FEEDBACK_TRUSTED_PROXIES``)."""

from __future__ import annotations

import httpx
import pytest

from tests.appserver import running_app

pytestmark = [pytest.mark.reliability, pytest.mark.slow, pytest.mark.timeout(180)]
BEHIND_PROXY = {"SPARSE_FEEDBACK_TRUSTED_PROXIES": "127.0.0.1"}  # the test client plays the proxy


def sign_in(url, user, password, encoding="form", forwarded_for=None) -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    fields = {"username": user, "password": password}
    if encoding == "multipart":
        kwargs = {"files": {k: (None, v) for k, v in fields.items()}}
    elif encoding == "json":
        kwargs = {"json": fields}
    else:
        kwargs = {"data": fields}
    return httpx.post(url + "login", headers=headers, timeout=30, **kwargs).status_code


def test_multipart_and_json_failures_count_against_the_user_named_and_lock_out_no_one_else(tmp_path):
    with running_app(tmp_path, extra_env=BEHIND_PROXY) as (url, _):
        guesses = [sign_in(url, "alice", f"guess{i}", "multipart", "203.0.113.7") for i in range(5)]
        assert guesses == [400] * 5
        # the guesses counted against alice, wherever she signs in from, and in any encoding
        assert sign_in(url, "alice", "alice-pw", "form", "198.51.100.20") == 429
        assert sign_in(url, "alice", "alice-pw", "multipart", "198.51.100.21") == 429
        # ... and against nobody else: bob's multipart sign-in works at once
        assert sign_in(url, "bob", "bob-pw", "multipart", "198.51.100.22") == 200
        assert sign_in(url, "root", "root-pw", "multipart", "198.51.100.23") == 200
        # a JSON sign-in (Gradio cannot read it) still counts against the name it carries
        assert {sign_in(url, "carol", f"guess{i}", "json", "203.0.113.8") for i in range(5)} <= {400, 401, 422}
        assert sign_in(url, "carol", "carol-pw", "form", "198.51.100.24") == 429


def test_a_form_naming_no_user_counts_against_its_address_only(tmp_path):
    with running_app(tmp_path, extra_env=BEHIND_PROXY) as (url, _):
        for _ in range(6):
            httpx.post(url + "login", content=b"\x00garbage", headers={"X-Forwarded-For": "203.0.113.9",
                       "Content-Type": "multipart/form-data; boundary=x"}, timeout=30)
        assert sign_in(url, "bob", "bob-pw", "multipart", "198.51.100.30") == 200
        assert sign_in(url, "alice", "alice-pw", "form", "203.0.113.9") == 429  # that address waits


def test_forwarded_for_from_loopback_is_ignored_unless_the_admin_names_the_proxy(tmp_path, monkeypatch):
    monkeypatch.delenv("SPARSE_FEEDBACK_TRUSTED_PROXIES", raising=False)
    with running_app(tmp_path / "direct") as (url, _):
        # rotating X-Forwarded-For and accounts: every try still comes from 127.0.0.1, the peer
        tries = [sign_in(url, f"user{i}", "guess", "form", f"198.51.100.{i}") for i in range(5)]
        assert tries == [400] * 5
        assert sign_in(url, "user9", "guess", "form", "198.51.100.99") == 429
        assert sign_in(url, "bob", "bob-pw", "form", "198.51.100.98") == 429


def test_forwarded_for_from_a_named_proxy_gives_each_client_its_own_address(tmp_path):
    with running_app(tmp_path / "proxied", extra_env=BEHIND_PROXY) as (url, _):
        tries = [sign_in(url, f"user{i}", "guess", "form", "203.0.113.50") for i in range(5)]
        assert tries == [400] * 5
        assert sign_in(url, "bob", "bob-pw", "form", "203.0.113.50") == 429  # that client waits
        # a client cannot pose as another by putting an address in front: the proxy's entry is the last one
        assert sign_in(url, "bob", "bob-pw", "form", "198.51.100.60, 203.0.113.50") == 429
        assert sign_in(url, "bob", "bob-pw", "form", "198.51.100.61") == 200  # another client does not
