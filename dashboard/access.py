"""Who may see what (SPEC §1, §4): the scope every query is run with."""

from __future__ import annotations

from dataclasses import dataclass, replace

from dashboard.filters import Filters

# The pages each role reaches; the server refuses the rest (pages and their callbacks).
ROLE_PAGES: dict[str, tuple[str, ...]] = {
    "coordinator": (
        "/",
        "/attendance",
        "/retention",
        "/surveys",
        "/impact",
        "/data",
        "/definitions",
    ),
    "leadership": (
        "/",
        "/attendance",
        "/retention",
        "/surveys",
        "/impact",
        "/planning",
        "/definitions",
    ),
    # Funders read published releases on /impact, and what their figures mean (SPEC §4).
    "funder": ("/impact", "/definitions"),
    "admin": (
        "/",
        "/attendance",
        "/retention",
        "/surveys",
        "/impact",
        "/planning",
        "/data",
        "/admin",
        "/definitions",
    ),
}
# Never matches a network name: an empty selection after scoping must mean "nothing".
NO_NETWORK = "(no network in scope)"


@dataclass(frozen=True)
class Scope:
    """A user's reach: the networks he may see (None = all) and how figures leave the server."""

    role: str
    networks: tuple[str, ...] | None = None
    username: str | None = None

    @property
    def sees_exact_figures(self) -> bool:
        """Coordinators (own networks) and admins see exact figures; the others protected
        ones (SPEC §4)."""
        return self.role in ("coordinator", "admin")

    @property
    def may_see_member_rows(self) -> bool:
        """Only coordinators (own networks) and admins see member-level rows."""
        return self.role in ("coordinator", "admin")

    @property
    def may_import(self) -> bool:
        return self.role in ("coordinator", "admin")

    @property
    def may_edit_targets(self) -> bool:
        return self.role in ("leadership", "admin")

    @property
    def may_manage_users(self) -> bool:
        return self.role == "admin"

    @property
    def writable_networks(self) -> tuple[str, ...] | None:
        """Networks this user may import or enter data for: None = all (admin); a coordinator
        his own, and none at all if he has no network yet (never "all" by omission)."""
        if self.role == "admin":
            return None
        return tuple(self.networks or ()) if self.may_import else ()

    def may_write_network(self, name: str) -> bool:
        return self.writable_networks is None or name in self.writable_networks

    def may_see_network(self, name: str) -> bool:
        return self.networks is None or name in self.networks

    def visible_networks(self, names) -> list[str]:
        """Of these network names, the ones this user may see, in their order."""
        return [name for name in names if self.may_see_network(name)]

    def only_network(self, names) -> str | None:
        """The one network this user sees of these (a coordinator of one network, or any
        user of a one-network deployment); None when he sees several or none."""
        visible = self.visible_networks(names)
        return visible[0] if len(visible) == 1 else None

    @property
    def pages(self) -> tuple[str, ...]:
        return ROLE_PAGES.get(self.role, ())

    def can_open(self, path: str) -> bool:
        return path in self.pages

    def restrict(self, filters: Filters) -> tuple[Filters, tuple[str, ...]]:
        """Filters narrowed to this scope, and the networks asked for but refused."""
        if self.networks is None:
            return filters, ()
        asked = filters.networks or self.networks
        allowed = tuple(n for n in asked if n in self.networks)
        refused = tuple(n for n in asked if n not in self.networks)
        return replace(filters, networks=allowed or (NO_NETWORK,)), refused


FULL_SCOPE = Scope(role="admin")
