"""Who may sign in and with which role: a users file or ``SPARSE_FEEDBACK_USERS``, mirrored in the store.

Passwords stay in the file or environment (never in the store); the store keeps names and roles.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, insert, select

from sparse_feedback.errors import InputError
from sparse_feedback.store.limits import NAME_MAX, StoreError, check_name
from sparse_feedback.store.schema import users, utcnow

ROLES = ("annotator", "viewer", "researcher", "admin")


@dataclass(frozen=True)
class Account:
    name: str
    password: str
    role: str
    projects: tuple[str, ...] = ()  # researchers and viewers: the projects they are given (empty: all)


def parse_users(spec: str, source: str = "SPARSE_FEEDBACK_USERS") -> list[Account]:
    """Parse ``name:password[:role[:project|project...]]`` entries separated by commas or new lines (role
    defaults to annotator; a project list limits a researcher or viewer to those projects).

    >>> parse_users("alice:pw:annotator, bob:s3cret:admin\\ncarol:x")
    [Account(name='alice', password='pw', role='annotator', projects=()), Account(name='bob', password='s3cret', role='admin', projects=()), Account(name='carol', password='x', role='annotator', projects=())]
    >>> parse_users("dana:pw:researcher:demo|paper")[0].projects
    ('demo', 'paper')
    """
    accounts = []
    for n, entry in enumerate(e.strip() for line in spec.splitlines() for e in line.split(",")):
        if not entry or entry.startswith("#"):
            continue
        parts = entry.split(":")
        if len(parts) not in (2, 3, 4) or not parts[0] or not parts[1]:
            raise InputError(source, f"expected name:password[:role[:projects]], found {parts[0]!r}...",
                             where=f"entry {n + 1}")
        role = parts[2].strip().lower() if len(parts) >= 3 else "annotator"
        if role not in ROLES:
            raise InputError(source, f"unknown role {role!r} (expected one of {', '.join(ROLES)})", where=f"entry {n + 1}")
        try:
            name = check_name("user name", parts[0])
        except StoreError as err:
            raise InputError(source, str(err), where=f"entry {n + 1}") from None
        given = tuple(p.strip() for p in parts[3].split("|") if p.strip()) if len(parts) == 4 else ()
        accounts.append(Account(name, parts[1], role, given))
    return accounts


def configured_accounts() -> list[Account]:
    """Accounts from ``$SPARSE_FEEDBACK_USERS`` or the file named by ``$SPARSE_FEEDBACK_USERS_FILE``."""
    spec = os.environ.get("SPARSE_FEEDBACK_USERS")
    if spec:
        return parse_users(spec)
    path = os.environ.get("SPARSE_FEEDBACK_USERS_FILE")
    if path:
        if not Path(path).is_file():
            raise InputError(path, "users file not found")
        return parse_users(Path(path).read_text("utf-8"), source=path)
    return []


def check_password(accounts: list[Account], name: str, password: str) -> bool:
    """Constant-time password check against the configured accounts (oversized input is refused at once)."""
    if not isinstance(name, str) or not isinstance(password, str) or len(name) > NAME_MAX or len(password) > 1024:
        return False
    ok = False
    for acc in accounts:
        same = hmac.compare_digest(acc.name.encode(), str(name).encode())
        ok |= same and hmac.compare_digest(acc.password.encode(), str(password).encode())
    return ok


class UsersMixin:
    db: object

    def sync_users(self, accounts: list[Account]) -> None:
        """Make the store's users table mirror the configured accounts (names and roles)."""
        with self.db.write() as conn:
            conn.execute(delete(users))
            if accounts:
                conn.execute(insert(users), [{"name": a.name, "role": a.role, "created_at": utcnow()}
                                             for a in accounts])

    def add_user(self, name: str, role: str = "annotator") -> None:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        with self.db.write() as conn:
            conn.execute(delete(users).where(users.c.name == name))
            conn.execute(insert(users).values(name=name, role=role, created_at=utcnow()))

    def role(self, name: str) -> str | None:
        with self.db.read() as conn:
            return conn.execute(select(users.c.role).where(users.c.name == name)).scalar()
