"""Who is calling: Gradio sign-in (users file / env), Hugging Face OAuth on a Space, or open local mode.

With sign-in on, a handler's identity comes only from the request (``request.username``), never from a
field the client fills in. Open local mode (no users configured) trusts a typed name and gives admin.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from sparse_feedback.store import Account, check_password
from sparse_feedback.store.limits import check_name

ADMIN = "admin"


class AccessError(PermissionError):
    """The caller is not signed in, or not allowed to do this."""


@dataclass(frozen=True)
class Identity:
    name: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN


def _oauth_username(request) -> str | None:
    """The Hugging Face user of an OAuth session (Spaces with ``hf_oauth: true``)."""
    try:
        info = request.session.get("oauth_info") or {}
    except Exception:  # no session middleware: OAuth is off
        return None
    if info.get("expires_at") is not None and info["expires_at"] < time.time():
        return None  # a sign-in whose token has expired counts as none
    return (info.get("userinfo") or {}).get("preferred_username")


@dataclass
class Access:
    """The sign-in policy of one running app."""

    store: object
    accounts: list[Account]
    oauth: bool = False
    oauth_admins: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, store, accounts: list[Account]) -> "Access":
        # Spaces set SYSTEM=spaces and, with ``hf_oauth: true``, the OAUTH_* variables (as Gradio checks).
        on_space = os.environ.get("SYSTEM") == "spaces" and bool(os.environ.get("SPACE_ID"))
        oauth = not accounts and on_space and bool(os.environ.get("OAUTH_CLIENT_ID"))
        admins = tuple(a.strip() for a in os.environ.get("SPARSE_FEEDBACK_ADMINS", "").split(",") if a.strip())
        return cls(store, accounts, oauth, admins)

    @property
    def open(self) -> bool:
        """No sign-in: a local, single-team app where the typed name is the identity."""
        return not self.accounts and not self.oauth

    def gradio_auth(self):
        """The ``auth=`` argument for ``launch()``: a password check, or None."""
        if not self.accounts:
            return None
        accounts = self.accounts
        return lambda name, password: check_password(accounts, name, password)

    def identify(self, request, typed_name: str | None = "") -> Identity:
        if self.open:
            if not isinstance(typed_name, str) or not typed_name.strip():
                raise AccessError("type your name at the top first")
            return Identity(check_name("your name", typed_name), ADMIN)
        name = getattr(request, "username", None) if request is not None else None
        if not name and self.oauth and request is not None:
            name = _oauth_username(request)
        if not name:
            raise AccessError("sign in first")
        if self.oauth:
            return Identity(name, ADMIN if name in self.oauth_admins else "annotator")
        role = self.store.role(name)
        if role is None:
            raise AccessError("this account is not known to the store")
        return Identity(name, role)

    def admin(self, request, typed_name: str | None = "") -> Identity:
        who = self.identify(request, typed_name)
        if not who.is_admin:
            raise AccessError("only an admin can do this")
        return who
