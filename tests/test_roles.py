"""Roles (admin, researcher, annotator, viewer), the public demo mode, open mode's local-only admin, and the
paper's sample data shipped as a second demo project."""

from pathlib import Path
from types import SimpleNamespace

import pytest

from sparse_feedback.errors import InputError
from sparse_feedback.store import Store, parse_users
from sparse_feedback.store.demo import DEMO_PROJECTS, ensure_demo
from sparse_feedback.ui.access import Access, AccessError, sandbox_name

ROOT = Path(__file__).resolve().parents[1]
USERS = "ann:a:annotator,vic:v:viewer,res:r:researcher:demo,root:x:admin"


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    ensure_demo(s, ROOT / "assets" / "demo")
    yield s
    s.close()


def signed(store, monkeypatch, env=None):
    for k in ("SPARSE_FEEDBACK_PUBLIC", "SYSTEM", "SPACE_ID", "GRADIO_SERVER_NAME", "SPARSE_FEEDBACK_LOCAL"):
        monkeypatch.delenv(k, raising=False)
    for k, v in (env or {}).items():
        monkeypatch.setenv(k, v)
    accounts = parse_users(USERS) if not (env or {}).get("SPARSE_FEEDBACK_PUBLIC") else []
    store.sync_users(accounts)
    return Access.from_env(store, accounts, DEMO_PROJECTS)


def req(name=None, session="abcdef123456"):
    return SimpleNamespace(username=name, session_hash=session)


def test_each_role_may_do_what_the_issue_lists(store, monkeypatch):
    access = signed(store, monkeypatch)
    allowed = {who: {w for w in ("manage", "export", "jobs", "view", "annotate")
                     if access.identify(req(who)).can(w)} for who in ("ann", "vic", "res", "root")}
    assert allowed == {"ann": {"annotate"}, "vic": {"view"}, "res": {"export", "jobs", "view", "annotate"},
                       "root": {"manage", "export", "jobs", "view", "annotate"}}


def test_a_researcher_works_only_on_the_projects_given(store, monkeypatch):
    access = signed(store, monkeypatch)
    assert access.require(req("res"), "", "view", "demo").role == "researcher"
    with pytest.raises(AccessError, match="not one of yours"):
        access.require(req("res"), "", "jobs", "paper")
    assert access.visible_projects(access.identify(req("res"))) == ["demo"]
    assert access.visible_projects(access.identify(req("vic"))) == ["demo", "paper"]


def test_a_users_entry_with_an_unknown_role_names_the_roles():
    with pytest.raises(InputError, match="researcher"):
        parse_users("x:pw:boss")


def test_public_visitors_view_the_demo_projects_and_annotate_in_a_sandbox(store, monkeypatch):
    access = signed(store, monkeypatch, {"SPARSE_FEEDBACK_PUBLIC": "1"})
    who = access.identify(req())
    assert who.role == "viewer" and who.sandbox and who.can("view") and who.can("annotate")
    assert not who.can("export") and not who.can("jobs") and not who.can("manage")
    assert access.annotation_project(who, "demo") == sandbox_name("demo")
    assert access.visible_projects(who) == ["paper", "demo"]  # the paper's sample first; no sandbox copy listed
    assert store.items_frame(sandbox_name("demo")).equals(store.items_frame("demo"))
    store.create_project_from_generation(store.items_frame("demo"), "private")
    with pytest.raises(AccessError):
        access.require(req(), "", "view", "private")
    with pytest.raises(AccessError):
        access.annotation_project(who, "private")


def test_public_mode_refuses_password_accounts(store, monkeypatch):
    monkeypatch.setenv("SPARSE_FEEDBACK_PUBLIC", "1")
    with pytest.raises(InputError, match="Hugging Face"):
        Access.from_env(store, parse_users(USERS))


def test_open_mode_gives_admin_only_on_a_loopback_address(store, monkeypatch):
    monkeypatch.setattr(store, "sync_users", lambda accounts: None)
    for env, role in (({}, "admin"), ({"GRADIO_SERVER_NAME": "0.0.0.0"}, "annotator"),
                      ({"GRADIO_SERVER_NAME": "0.0.0.0", "SPARSE_FEEDBACK_LOCAL": "1"}, "admin"),
                      ({"SYSTEM": "spaces", "SPACE_ID": "a/b"}, "annotator")):
        for k in ("SYSTEM", "SPACE_ID", "GRADIO_SERVER_NAME", "SPARSE_FEEDBACK_LOCAL", "SPARSE_FEEDBACK_PUBLIC"):
            monkeypatch.delenv(k, raising=False)
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        access = Access.from_env(store, [])
        assert access.identify(req(), "sam").role == role, env


def test_the_paper_demo_project_shows_the_papers_consistency(store):
    from sparse_feedback.analysis.consistency import consistency
    from sparse_feedback.analysis.sources import frames_from_store

    feedback = frames_from_store(store, "paper")
    result = consistency(feedback.ratings, feedback.rankings)
    assert (round(result.consistency, 2), result.n_pairs) == (56.41, 117)


def test_the_export_tab_offers_the_audit_trail_to_admins_only_and_refuses_it_to_researchers(store, monkeypatch):
    import gradio as gr

    from pages import export
    from sparse_feedback.ui.exports import AUDIT

    access = signed(store, monkeypatch)
    offered = {who: export.what_choices(store, access, "", req(who))["choices"] for who in ("res", "root")}
    assert AUDIT in [c[0] if isinstance(c, tuple) else c for c in offered["root"]]
    assert AUDIT not in [c[0] if isinstance(c, tuple) else c for c in offered["res"]]
    with pytest.raises(gr.Error, match="only an admin"):  # asked for anyway, through the API
        export.export(store, access, "", "demo", AUDIT, "human", "csv", req("res"))
    with pytest.raises(gr.Error, match="only a researcher or an admin"):
        export.what_choices(store, access, "", req("vic"))
