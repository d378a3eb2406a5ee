"""User accounts: create, change, deactivate; passwords hashed with Werkzeug's scrypt."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from dashboard import audit
from dashboard.models import ROLES, Network, User

MIN_PASSWORD_LENGTH = 10
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
        raise UserError("a coordinator needs at least one --network")
    return sorted(known[n] for n in networks) if role == "coordinator" else []


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")


def create_user(session: Session, username: str, role: str, networks: list[str],
                password: str, by: str | None = None) -> User:
    username = username.strip()
    if not username or len(username) > 60:
        raise UserError("a username has 1 to 60 characters")
    if session.scalar(select(User).where(User.username == username)):
        raise UserError(f"user {username!r} already exists")
    network_ids = _check(session, role, networks)
    check_password(password)
    user = User(username=username, role=role, network_ids=network_ids, active=True,
                password_hash=generate_password_hash(password, method="scrypt"),
                session_version=1)
    session.add(user)
    audit.record(session, "user-create", by, f"{username} as {role} {networks or ''}".strip())
    return user


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise UserError(f"no user {username!r}")
    return user


def update_user(session: Session, username: str, role: str, networks: list[str],
                by: str | None = None) -> None:
    user = get_user(session, username)
    user.network_ids = _check(session, role, networks)
    user.role = role
    user.session_version += 1
    audit.record(session, "user-change", by, f"{username} now {role} {networks or ''}".strip())


def set_active(session: Session, username: str, active: bool, by: str | None = None) -> None:
    user = get_user(session, username)
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
