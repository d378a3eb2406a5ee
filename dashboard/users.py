"""User accounts: create, change, deactivate; passwords hashed with Werkzeug's scrypt.

Every change is audited (who did it: `by`). A user change that would lock the network out
(its last active admin deactivated or demoted) or that an admin makes to their own access is
refused with a UserError, whose message is shown as it is (command line, /admin).
"""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from dashboard import audit
from dashboard.models import ROLES, AuditEvent, Network, User

MIN_PASSWORD_LENGTH = 12
# Guessed first by anyone trying passwords (lists of the most common ones, as typed here).
COMMON_PASSWORDS = frozenset(
    {
        "password1234",
        "123456789012",
        "qwertyuiopas",
        "passwordpassword",
        "iloveyou1234",
        "letmein12345",
        "welcome12345",
        "changeme1234",
        "administrator",
        "calgary12345",
        "edmonton1234",
        "albertamen123",
    }
)
# Letters, digits and . _ @ - (an e-mail address fits): safe in logs, URLs and CSV.
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,59}")
# Checked against when a username is unknown, so both paths take the same time.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method="scrypt")


class UserError(ValueError):
    """A user change that cannot be made, with the reason."""


def _check(session: Session, role: str, networks: list[str]) -> list[int]:
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    known = dict(session.execute(select(Network.name, Network.id)).all())
    unknown = [n for n in networks if n not in known]
    if unknown:
        raise UserError(f"unknown network {', '.join(unknown)}; known: {', '.join(known)}")
    if role == "coordinator" and not networks:
        raise UserError("a coordinator needs at least one network")
    return sorted(known[n] for n in networks) if role == "coordinator" else []


def _networks_text(role: str, networks: list[str]) -> str:
    return f" of {', '.join(sorted(networks))}" if role == "coordinator" else ""


def check_password(password: str) -> None:
    """The password policy: long enough, not one repeated character or spaces, not common."""
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if not password.strip() or len(set(password)) == 1:
        raise UserError("the password must not be one character repeated or only spaces")
    if password.lower() in COMMON_PASSWORDS:
        raise UserError("that password is among the most common ones: choose another")


def create_user(
    session: Session,
    username: str,
    role: str,
    networks: list[str],
    password: str,
    by: str | None = None,
) -> User:
    username = (username or "").strip()
    if not USERNAME.fullmatch(username):
        raise UserError(
            "a username has 1 to 60 characters: letters, digits, '.', '_', '@' "
            "or '-', starting with a letter or digit"
        )
    same = session.scalar(
        select(User.username).where(func.lower(User.username) == username.lower())
    )
    if same:
        raise UserError(f"user {same!r} already exists")
    network_ids = _check(session, role, networks)
    check_password(password)
    user = User(
        username=username,
        role=role,
        network_ids=network_ids,
        active=True,
        password_hash=generate_password_hash(password, method="scrypt"),
        session_version=1,
    )
    session.add(user)
    audit.record(
        session, "user-create", by, f"{username} as {role}{_networks_text(role, networks)}"
    )
    return user


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise UserError(f"no user {username!r}")
    return user


def _other_active_admins(session: Session, user: User) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.role == "admin", User.active.is_(True), User.id != user.id)
        )
        or 0
    )


def _keep_an_admin(session: Session, user: User) -> None:
    """Refuse to take away the last active admin (nobody could manage users any more)."""
    if user.role == "admin" and user.active and not _other_active_admins(session, user):
        raise UserError(f"{user.username} is the last active admin: make another admin first")


def update_user(
    session: Session, username: str, role: str, networks: list[str], by: str | None = None
) -> bool:
    """Change a user's role and networks; their sessions end (they sign in again).

    Returns False, changing nothing, when they already have this role and these networks.
    """
    user = get_user(session, username)
    network_ids = _check(session, role, networks)
    if role == user.role and network_ids == sorted(user.network_ids or []):
        return False
    if role != user.role:
        if by == username:
            raise UserError("you cannot change your own role: ask another admin")
        _keep_an_admin(session, user)
    user.network_ids = network_ids
    user.role = role
    user.session_version += 1
    audit.record(
        session, "user-change", by, f"{username} now {role}{_networks_text(role, networks)}"
    )
    return True


def set_active(session: Session, username: str, active: bool, by: str | None = None) -> None:
    user = get_user(session, username)
    if not active:
        if by == username:
            raise UserError("you cannot deactivate your own account: ask another admin")
        _keep_an_admin(session, user)
    user.active = active
    user.session_version += 1  # existing sessions stop working
    audit.record(session, "user-activate" if active else "user-deactivate", by, username)


def set_password(session: Session, username: str, password: str, by: str | None = None) -> None:
    check_password(password)
    user = get_user(session, username)
    user.password_hash = generate_password_hash(password, method="scrypt")
    user.session_version += 1
    audit.record(session, "user-password", by, username)


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this password, or None."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    return user


def network_names_of(session: Session, user: User) -> tuple[str, ...] | None:
    """The networks a user's queries are limited to; None means all."""
    if user.role != "coordinator":
        return None
    rows = session.scalars(select(Network.name).where(Network.id.in_(user.network_ids or [-1])))
    return tuple(sorted(rows))


def list_users(session: Session) -> list[dict]:
    """Every user for the admin page: username, role, networks, active, last sign-in."""
    names = dict(session.execute(select(Network.id, Network.name)).all())
    last = dict(
        session.execute(
            select(AuditEvent.username, func.max(AuditEvent.at))
            .where(AuditEvent.action == "login")
            .group_by(AuditEvent.username)
        ).all()
    )
    rows = []
    for user in session.scalars(select(User).order_by(User.username)):
        networks = sorted(names[i] for i in user.network_ids or [] if i in names)
        signed_in = last.get(user.username)
        rows.append(
            {
                "username": user.username,
                "role": user.role,
                "networks": networks,
                "active": bool(user.active),
                "last_sign_in": signed_in.strftime("%Y-%m-%d %H:%M") if signed_in else "",
            }
        )
    return rows
