"""Networks: add and rename (SPEC §2). A new deployment starts with none; an admin adds them.

Every change is audited (who did it: `by`). A name that cannot be used is refused with a
NetworkError, whose message is shown as it is (command line, /admin).
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard import audit
from dashboard.db import bump_data_version
from dashboard.models import Network

# Letters (any alphabet), digits, spaces and . ' & - ; starting with a letter. No commas or
# semicolons: names are listed with them in messages and import files.
NAME = re.compile(r"[^\W\d_][\w .'&-]{0,59}")


class NetworkError(ValueError):
    """A network change that cannot be made, with the reason."""


def clean_name(name: str | None) -> str:
    """The name with runs of spaces made one; NetworkError when it is not a usable name."""
    cleaned = " ".join((name or "").split())
    if not NAME.fullmatch(cleaned) or "_" in cleaned:
        raise NetworkError(
            f"{cleaned!r} is not a network name: 1 to 60 characters, letters, digits, "
            "spaces, '.', \"'\", '&' or '-', starting with a letter"
        )
    return cleaned


def find_network(session: Session, name: str) -> Network | None:
    """The network of this name, whatever its case and spacing (as imports match names)."""
    wanted = " ".join(name.split()).casefold()
    for network in session.scalars(select(Network)):
        if " ".join(network.name.split()).casefold() == wanted:
            return network
    return None


def create_network(session: Session, name: str, by: str | None = None) -> tuple[Network, bool]:
    """Add a network; (network, False) when one of this name exists already (no change)."""
    cleaned = clean_name(name)
    existing = find_network(session, cleaned)
    if existing is not None:
        return existing, False
    network = Network(name=cleaned)
    session.add(network)
    bump_data_version(session)
    audit.record(session, "network-create", by, cleaned)
    return network, True


def rename_network(session: Session, old: str, new: str, by: str | None = None) -> bool:
    """Rename a network; False, changing nothing, when the name is already the new one."""
    network = find_network(session, old or "")
    if network is None:
        known = ", ".join(network_list(session)) or "none yet"
        raise NetworkError(f"no network {old!r}; known: {known}")
    cleaned = clean_name(new)
    if network.name == cleaned:
        return False
    other = find_network(session, cleaned)
    if other is not None and other.id != network.id:
        raise NetworkError(f"a network {other.name!r} exists already")
    before = network.name
    network.name = cleaned
    bump_data_version(session)
    audit.record(session, "network-rename", by, f"{before} -> {cleaned}")
    return True


def network_list(session: Session) -> list[str]:
    """Every network's name, in order."""
    return list(session.scalars(select(Network.name).order_by(Network.name)))
