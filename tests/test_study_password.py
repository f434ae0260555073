"""Study links with password accounts, over HTTP and gradio_client: a valid link opens a Gradio session for the
participant (no login page) as an annotator of that project only; a wrong, revoked or incomplete link gets one
refusal and no cookie; a visitor without a link still gets the login page and passwords work as before."""

import httpx
import pytest
from gradio_client import Client

from sparse_feedback.study import links
from tests.appserver import running_app, small_generation

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]
SIGN_IN_PAGE = '"auth_required":true'


def _setup(store):
    store.create_project_from_generation(small_generation(4, 2), "crowd", overlap=2)
    store.create_project_from_generation(small_generation(3, 2), "private", overlap=2)


def _session_cookie(response) -> tuple[str, str]:
    """The plain-http session cookie a study entry set (name, token)."""
    plain = [c for c in response.headers.get_list("set-cookie") if c.startswith("access-token-unsecure-")]
    assert len(plain) == 1, response.headers.get_list("set-cookie")
    name, token = plain[0].split(";")[0].split("=", 1)
    return name, token


def test_a_study_link_signs_in_without_a_password_as_an_annotator_of_its_project_only(tmp_path):
    with running_app(tmp_path, setup=_setup) as (url, store):
        base = url.rstrip("/")
        link = links.create_link(store, "crowd", "root", 5, "C0DE")
        entry = f"{base}/?study={link.token}&PROLIFIC_PID=pp-1&STUDY_ID=st&SESSION_ID=se"

        assert SIGN_IN_PAGE in httpx.get(f"{base}/").text  # no link: Gradio's login page, as before
        page = httpx.get(entry)
        assert page.status_code == 200 and SIGN_IN_PAGE not in page.text and '"components":[{' in page.text
        name, token = _session_cookie(page)
        annotator = links.participant_name(link.link_id, "pp-1")
        assert store.study_links("crowd")["participants"].tolist() == [1]
        cookie = {"Cookie": f"{name}={token}"}
        assert httpx.get(f"{base}/gradio_api/login_check", headers=cookie).status_code == 200
        again = httpx.get(entry, headers=cookie)  # the same browser again: its session goes on, no new one
        assert again.status_code == 200 and not again.headers.get_list("set-cookie")

        participant = Client(url, headers=cookie, verbose=False)
        view = participant.predict("crowd", "", api_name="/rate_show")
        participant.predict("crowd", "", view[5], "6", api_name="/rate_submit")
        assert store.human_ratings("crowd", annotator)["rating"].tolist() == [6]
        with pytest.raises(Exception, match="only an admin"):
            participant.predict("", "crowd", api_name="/study_load")
        with pytest.raises(Exception, match="only an admin"):
            participant.predict("", "crowd", 3, "CODE2", "", "", api_name="/study_link")
        other = participant.predict("private", "", api_name="/rate_show")  # names another project: gets its own
        participant.predict("private", "", other[5], "2", api_name="/rate_submit")
        assert store.human_ratings("private").empty and len(store.human_ratings("crowd", annotator)) == 2
        assert len(store.study_links("crowd")) == 1

        store.revoke_study_link("crowd", "root", link.link_id)
        ended = participant.predict("crowd", "", api_name="/rate_show")  # the session ends with its link
        assert links.REFUSED in ended[1] and ended[5] in (None, {}, "")
        revoked = httpx.get(entry)
        assert revoked.status_code == 403 and not revoked.headers.get_list("set-cookie")
        Client(url, auth=("alice", "alice-pw"), verbose=False).predict("crowd", "", api_name="/rate_show")


@pytest.mark.parametrize("query", ["study=not-the-token&PROLIFIC_PID=pp-9", "PROLIFIC_PID=pp-9",
                                   "study={token}", "study={token}&participant=bad%00id"])
def test_a_broken_study_link_gets_one_refusal_no_cookie_and_no_participant(tmp_path, query):
    with running_app(tmp_path, setup=_setup) as (url, store):
        token = links.create_link(store, "crowd", "root", 5).token
        refused = httpx.get(f"{url.rstrip('/')}/?{query.format(token=token)}")
        assert refused.status_code == 403 and links.REFUSED in refused.text
        assert "gradio_config" not in refused.text and not refused.headers.get_list("set-cookie")
        assert store.study_links("crowd")["participants"].tolist() == [0]
