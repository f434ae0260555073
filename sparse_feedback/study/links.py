"""Crowd-platform study links: a participant signs in by the link alone, as an annotator of one project.

``https://HOST/?study=TOKEN&PROLIFIC_PID=...&STUDY_ID=...&SESSION_ID=...`` (Prolific fills the last three) or
``https://HOST/?study=TOKEN&participant=ID`` (any other platform). The token is a secret shown once when the
link is made; the store keeps only its SHA-256. A participant id maps to one annotator name per link (a hash,
so the id is never shown to anyone): a second entry continues, never restarts. When the participant's answers
reach the quota they get the completion code (and the platform's completion URL, if set).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

from sparse_feedback.store.limits import StoreError, check_name

STUDY, PARTICIPANT = "study", "participant"
PROLIFIC_PID, STUDY_ID, SESSION_ID = "PROLIFIC_PID", "STUDY_ID", "SESSION_ID"
NAME_PREFIX = "participant-"  # every participant's annotator name starts so
MARKERS = (STUDY, PROLIFIC_PID, PARTICIPANT)  # any of these in the page address makes it a study entry
REFUSED = "This study link is not valid (wrong, revoked or incomplete). Please return to the study page and use " \
          "the link it gives you."


class StudyRefusal(PermissionError):
    """A study entry that is refused: one message, and no session."""


@dataclass(frozen=True)
class NewLink:
    link_id: int
    token: str  # shown once; never stored
    code: str


@dataclass(frozen=True)
class Entry:
    """A participant let in by a study link."""

    annotator: str
    project: str


def token_hash(token: str) -> str:
    """>>> len(token_hash("abc"))
    64
    """
    return hashlib.sha256(str(token).encode()).hexdigest()


def participant_name(link_id: int, participant_id: str) -> str:
    """The annotator name of a participant: the link and a hash of their id, never the id itself.

    >>> participant_name(3, "5f1c").startswith("participant-3-")
    True
    """
    return f"{NAME_PREFIX}{link_id}-{hashlib.sha256(participant_id.encode()).hexdigest()[:12]}"


def create_link(store, project: str, actor: str, quota: int, code: str | None = None,
                redirect_url: str = "") -> NewLink:
    """A new study link for ``project``: a random secret token (returned once), ``quota`` answers per participant,
    the completion ``code`` (random if not given) and an optional completion URL."""
    token, code = secrets.token_urlsafe(24), code or secrets.token_hex(4).upper()
    link_id = store.add_study_link(project, actor, token_hash(token), quota, code, redirect_url)
    return NewLink(link_id, token, code)


def prolific_url(host: str, token: str) -> str:
    """The link to paste into Prolific (it fills the three ids itself)."""
    return (f"{host.rstrip('/')}/?{urlencode({STUDY: token})}&PROLIFIC_PID={{{{%PROLIFIC_PID%}}}}"
            "&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}")


def generic_url(host: str, token: str) -> str:
    return f"{host.rstrip('/')}/?{urlencode({STUDY: token})}&participant=PARTICIPANT_ID"


def is_entry(params) -> bool:
    """Whether a page address carries a study entry (even a broken one, which is then refused)."""
    return any(key in params for key in MARKERS)


def enter(store, params) -> Entry:
    """The participant the address names, registered on first entry; :class:`StudyRefusal` for a missing, wrong
    or revoked token or a missing participant id."""
    token = str(params.get(STUDY) or "").strip()
    link = store.study_link(token_hash(token)) if token else None
    pid = str(params.get(PROLIFIC_PID) or params.get(PARTICIPANT) or "").strip()
    if link is None or link.revoked or not pid:
        raise StudyRefusal(REFUSED)
    try:
        pid = check_name("participant id", pid)
    except StoreError:
        raise StudyRefusal(REFUSED) from None
    name = store.enter_study(link.id, pid, participant_name(link.id, pid), str(params.get(STUDY_ID) or ""),
                             str(params.get(SESSION_ID) or ""))
    return Entry(name, link.project)


def completion(store, annotator: str) -> dict | None:
    """For a participant whose quota is met: ``completion_code`` and ``redirect_url`` (recorded as completed);
    None otherwise."""
    status = store.participant_status(annotator)
    if status is None or status["done"] < status["quota"]:
        return None
    if status["completed_at"] is None:
        store.mark_completed(annotator)
    return status


def progress_note(store, annotator: str) -> str:
    """``Study: 3 of 10 answers`` for a participant; empty for anyone else."""
    status = store.participant_status(annotator)
    return "" if status is None else f"Study: **{min(status['done'], status['quota'])} of {status['quota']}** answers"
