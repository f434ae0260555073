"""Who is calling and what their role lets them do.

Identities come from Gradio sign-in (users file / env), Hugging Face OAuth on a Space, the public demo mode
(anonymous visitors) or open local mode. With sign-in on, a handler's identity comes only from the request
(``request.username`` or the OAuth session), never from a field the client fills in.

A study link (``?study=TOKEN&PROLIFIC_PID=...`` or ``&participant=...``, see :mod:`sparse_feedback.study.links`)
signs its participant in as an annotator of that one project, with no password, in every mode; the browser sends
the page's address with every event, so the link is checked on each. With password accounts
:mod:`sparse_feedback.ui.study_entry` opens a Gradio session for the participant first (no login page), and a
session in a participant's name is that participant, never more, while their link is not revoked. A wrong, revoked
or incomplete link is refused and gives no identity at all.

Roles: ``admin`` (projects, users, imports, LLM runs, jobs), ``researcher`` (every dashboard, exports, Train and
Best-of-n jobs, adjudicating disagreements, on the projects they are given), ``annotator`` (their own queue),
``viewer`` (dashboards and the Best-of-n browser, read-only). Open mode (no sign-in configured) trusts a typed name; it gives admin only when
the app is served on a loopback address (or ``SPARSE_FEEDBACK_LOCAL=1``), else the typed name is an annotator.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from sparse_feedback.errors import InputError
from sparse_feedback.store import Account, check_password
from sparse_feedback.store.limits import check_name
from sparse_feedback.study import links
from sparse_feedback.ui.startup import flag, on_space

ADMIN, RESEARCHER, ANNOTATOR, VIEWER = "admin", "researcher", "annotator", "viewer"
# What each role may do: manage (projects, users, imports, LLM runs), export, jobs (start/stop Train and
# Best-of-n), view (dashboards, job views, Best-of-n browse), annotate (their own queue).
CAN = {
    "manage": (ADMIN,),
    "export": (ADMIN, RESEARCHER),
    "jobs": (ADMIN, RESEARCHER),
    "view": (ADMIN, RESEARCHER, VIEWER),
    "annotate": (ADMIN, RESEARCHER, ANNOTATOR),
    "adjudicate": (ADMIN, RESEARCHER),  # a final label for a disagreement, on the projects one is given
}
WHO = {"manage": "an admin", "export": "a researcher or an admin", "jobs": "a researcher or an admin",
       "view": "a viewer, a researcher or an admin", "annotate": "a signed-in annotator",
       "adjudicate": "a researcher or an admin"}
LOOPBACK = ("", "127.0.0.1", "localhost", "::1")
SANDBOX_SUFFIX = " (sandbox)"


class AccessError(PermissionError):
    """The caller is not signed in, or not allowed to do this."""


@dataclass(frozen=True)
class Identity:
    name: str
    role: str
    projects: tuple[str, ...] = ()  # the projects given to a researcher or viewer; empty: all
    sandbox: bool = False  # a public-demo visitor: annotations go to a sandbox copy of the project
    study: bool = False  # a participant who came by a study link: an annotator of ``projects[0]`` only
    typed: bool = False  # named themselves in open mode (no sign-in): they came to annotate

    @property
    def takes_tasks(self) -> bool:
        """Whether opening Rate or Rank hands them a task unasked: annotators, public visitors (in their
        sandbox) and a name typed in open mode. Admins and researchers only once they ask, so a look at the tab
        holds no task from the annotators.

        >>> Identity("a", "annotator").takes_tasks, Identity("r", "researcher").takes_tasks
        (True, False)
        """
        return self.role == ANNOTATOR or self.sandbox or self.typed

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    def can(self, what: str) -> bool:
        """>>> Identity("v", "viewer").can("view"), Identity("v", "viewer").can("export")
        (True, False)
        """
        return self.role in CAN[what] or (what == "annotate" and self.sandbox)

    def allows(self, project: str | None) -> bool:
        """Whether this project is one of theirs (admins and annotators: every project; a participant: theirs)."""
        if self.study:
            return not project or project in self.projects
        return not project or not self.projects or self.role in (ADMIN, ANNOTATOR) or project in self.projects


def _oauth_username(request) -> str | None:
    """The Hugging Face user of an OAuth session (Spaces with ``hf_oauth: true``)."""
    try:
        info = request.session.get("oauth_info") or {}
    except Exception:  # no session middleware: OAuth is off
        return None
    if info.get("expires_at") is not None and info["expires_at"] < time.time():
        return None  # a sign-in whose token has expired counts as none
    return (info.get("userinfo") or {}).get("preferred_username")


def query_params(request) -> dict:
    """The page address's query parameters (the browser sends them with every event); empty without a request."""
    try:
        return dict(getattr(request, "query_params", None) or {})
    except Exception:  # noqa: BLE001 - a request without a query (an API client): no study entry
        return {}


def _names(variable: str) -> tuple[str, ...]:
    """A comma-separated list of names; a bad one is refused naming the variable and the entry."""
    names = tuple(a.strip() for a in os.environ.get(variable, "").split(",") if a.strip())
    for n, name in enumerate(names):
        try:
            check_name("a name", name)
        except ValueError as err:
            raise InputError(variable, str(err), where=f"entry {n + 1}") from None
    return names


def role_lists() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The Hugging Face users given admin and researcher roles (``$SPARSE_FEEDBACK_ADMINS`` / ``_RESEARCHERS``)."""
    return _names("SPARSE_FEEDBACK_ADMINS"), _names("SPARSE_FEEDBACK_RESEARCHERS")


def sandbox_name(project: str) -> str:
    """The public demo's sandbox copy of ``project``: visitors' answers land there, never in the real one."""
    return project if project.endswith(SANDBOX_SUFFIX) else project + SANDBOX_SUFFIX


@dataclass
class Access:
    """The sign-in policy of one running app."""

    store: object
    accounts: list[Account]
    oauth: bool = False
    oauth_admins: tuple[str, ...] = ()
    oauth_researchers: tuple[str, ...] = ()
    public: bool = False  # SPARSE_FEEDBACK_PUBLIC: anonymous visitors are viewers of the public projects
    public_projects: tuple[str, ...] = ()
    local: bool = True  # open mode on a loopback address: the typed name is an admin

    @classmethod
    def from_env(cls, store, accounts: list[Account], public_projects: tuple[str, ...] = ()) -> "Access":
        # Spaces set SYSTEM=spaces and, with ``hf_oauth: true``, the OAUTH_* variables (as Gradio checks).
        space = on_space()
        oauth = not accounts and space and bool(os.environ.get("OAUTH_CLIENT_ID"))
        public = flag("SPARSE_FEEDBACK_PUBLIC")
        if public and accounts:
            raise InputError("SPARSE_FEEDBACK_PUBLIC", "a public demo cannot use password accounts (Gradio's login "
                             "page would hide it from visitors): use Hugging Face sign-in, or unset it")
        listed = _names("SPARSE_FEEDBACK_PUBLIC_PROJECTS")
        server = os.environ.get("GRADIO_SERVER_NAME", "").strip()
        local = flag("SPARSE_FEEDBACK_LOCAL") or (server in LOOPBACK and not space)
        return cls(store, accounts, oauth, *role_lists(), public, listed or tuple(public_projects), local)

    @property
    def open(self) -> bool:
        """No sign-in at all: a single-team app where the typed name is the identity."""
        return not self.accounts and not self.oauth and not self.public

    def gradio_auth(self):
        """The ``auth=`` argument for ``launch()``: a password check, or None."""
        if not self.accounts:
            return None
        accounts = self.accounts
        return lambda name, password: check_password(accounts, name, password)

    def _visitor(self, request) -> Identity:
        session = str(getattr(request, "session_hash", None) or "anonymous")
        return Identity(f"visitor-{session[:8]}", VIEWER, self.public_projects or ("\0none",), sandbox=True)

    def participant(self, request) -> Identity | None:
        """The study participant the page address names; None when it names no study; AccessError when the link is
        wrong, revoked or incomplete."""
        params = query_params(request)
        if not links.is_entry(params):
            return self._participant_session(request)
        try:
            entry = links.enter(self.store, params)
        except links.StudyRefusal as err:
            raise AccessError(str(err)) from None
        return Identity(entry.annotator, ANNOTATOR, (entry.project,), study=True)

    def _participant_session(self, request) -> Identity | None:
        """With password accounts, a Gradio session opened by a study link (:mod:`.study_entry`) for a page
        address, or an API call, that no longer carries the link: still that participant and nothing more (even an
        account of the same name gets no more); AccessError once the link is revoked."""
        name = getattr(request, "username", None) if self.accounts else None
        status = self.store.participant_status(name) if str(name).startswith(links.NAME_PREFIX) else None
        if status is None:
            return None
        if status["revoked"]:
            raise AccessError(links.REFUSED)
        return Identity(name, ANNOTATOR, (status["project"],), study=True)

    def identify(self, request, typed_name: str | None = "") -> Identity:
        if request is not None and (who := self.participant(request)) is not None:
            return who
        if self.open:
            if not isinstance(typed_name, str) or not typed_name.strip():
                raise AccessError("type your name at the top first")
            return Identity(check_name("your name", typed_name), ADMIN if self.local else ANNOTATOR, typed=True)
        name = getattr(request, "username", None) if request is not None else None
        if not name and self.oauth and request is not None:
            name = _oauth_username(request)
        if not name:
            if self.public:
                return self._visitor(request)
            raise AccessError("sign in first")
        if self.oauth:
            role = ADMIN if name in self.oauth_admins else RESEARCHER if name in self.oauth_researchers else None
            if role is None:
                return self._visitor(request) if self.public else Identity(name, ANNOTATOR)
            return Identity(name, role)
        role = self.store.role(name)
        if role is None:
            raise AccessError("this account is not known to the store")
        given = next((a.projects for a in self.accounts if a.name == name), ())
        return Identity(name, role, given)

    def require(self, request, typed_name: str | None, what: str, project: str | None = None) -> Identity:
        """The caller, if their role may do ``what`` (on ``project`` when given); else AccessError."""
        who = self.identify(request, typed_name)
        if not who.can(what):
            raise AccessError(f"only {WHO[what]} can do this")
        if not who.allows(project):
            raise AccessError(f"project {project!r} is not one of yours")
        return who

    def admin(self, request, typed_name: str | None = "") -> Identity:
        return self.require(request, typed_name, "manage")

    def visible_projects(self, who: Identity | None) -> list[str]:
        """Project names this caller may pick (sandbox copies are never listed: visitors pick the original). A
        public visitor gets them in the order of ``public_projects``, so the demo opens on the first."""
        if who is not None and who.study:
            return list(who.projects)
        names = [p.name for p in self.store.projects()]
        if who is not None and (who.sandbox or who.role in (RESEARCHER, VIEWER)):
            names = [n for n in names if who.allows(n) and not (who.sandbox and n.endswith(SANDBOX_SUFFIX))]
        if who is not None and who.sandbox:
            names.sort(key=lambda n: self.public_projects.index(n) if n in self.public_projects else len(names))
        return names

    def annotation_project(self, who: Identity, project: str | None) -> str | None:
        """Where ``who`` annotates ``project``: the project itself, or for a public visitor its sandbox copy
        (created on first use with the same items); for a study participant always their study's project."""
        if who.study:
            return who.projects[0]
        if not who.sandbox or not project:
            return project
        if not who.allows(project):
            raise AccessError(f"project {project!r} is not part of the public demo")
        sandbox = sandbox_name(project)
        if sandbox not in {p.name for p in self.store.projects()}:
            try:
                self.store.create_project_from_generation(self.store.items_frame(project), sandbox, overlap=1,
                                                          guideline=self.store.project(project).guideline)
            except Exception:  # another visitor created it first
                if sandbox not in {p.name for p in self.store.projects()}:
                    raise
        return sandbox
