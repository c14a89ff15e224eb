"""Who may do what: the three roles of the remediation workflow, checked by the engine on every write.

- **viewer** reads everything and writes nothing;
- **reviewer** acts on items (confirm, relabel, escalate, exclude, revert) and sends items to review;
- **admin** does all that, and runs policies, creates dataset versions and rolls back.

An ``Actor`` is a name with a role. Every write function of ``analytics.remediation`` takes one and calls
``require`` before it opens a transaction, so a caller without the role gets a ``PermissionDenied`` that
says what was refused and which role it needs, whatever the caller is (page, CLI or test).

Where roles come from
---------------------
Roles are read from a TOML file that maps names (or e-mail domains, written ``"@example.org"``) to roles::

    [roles]
    admin = ["lead@example.org"]
    reviewer = ["@example.org", "ana"]
    viewer = ["guest"]
    default = "viewer"      # anyone else

``LABELWATCH_ROLES`` names the file. Without one, LabelWatch runs in **single-user mode**: one person
works on their own store, and every actor is an admin (nobody else can reach the store). The local user's
name is ``LABELWATCH_USER``, else the login name of the process.
"""

from __future__ import annotations

import dataclasses
import enum
import getpass
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path

__all__ = [
    "Actor", "PermissionDenied", "Role", "RoleBook", "local_actor", "recorded_name", "require", "role_book",
]

#: Environment variable naming the roles file.
ROLES_ENV = "LABELWATCH_ROLES"


class PermissionDenied(PermissionError):
    """A write by an actor whose role does not allow it."""


class Role(enum.IntEnum):
    """The roles, ordered: each may do what the ones below it may."""

    VIEWER = 0
    REVIEWER = 1
    ADMIN = 2

    @classmethod
    def parse(cls, text: str) -> Role:
        """``"reviewer"`` → ``Role.REVIEWER``; raises ``ValueError`` naming the roles for anything else."""
        try:
            return cls[str(text).strip().upper()]
        except KeyError:
            raise ValueError(
                f"Unknown role {text!r}; a role is one of: " + ", ".join(r.name.lower() for r in cls)
            ) from None

    def __str__(self) -> str:
        return self.name.lower()


@dataclasses.dataclass(frozen=True)
class Actor:
    """Someone who reads or writes: a name (recorded with every action) and a role."""

    name: str
    role: Role

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError("An actor needs a name: every action records who made it.")
        object.__setattr__(self, "name", self.name.strip())
        object.__setattr__(self, "role", Role(self.role))


def require(actor: Actor, role: Role, doing: str) -> None:
    """Raise ``PermissionDenied`` unless ``actor`` holds ``role`` or a higher one.

    Examples
    --------
    >>> require(Actor("ana", Role.REVIEWER), Role.REVIEWER, "relabel an item")
    >>> require(Actor("guest", Role.VIEWER), Role.REVIEWER, "relabel")
    Traceback (most recent call last):
    ...
    analytics.remediation.roles.PermissionDenied: guest (viewer) may not relabel: needs the reviewer role.
    """
    if not isinstance(actor, Actor):
        raise PermissionDenied(f"Refused to {doing}: no actor was given (who is making this change?).")
    if actor.role < role:
        raise PermissionDenied(f"{actor.name} ({actor.role}) may not {doing}: needs the {role} role.")


def recorded_name(who: Actor | str, role: Role, doing: str) -> str:
    """The name to record for a write by ``who``: an ``Actor`` is first checked for ``role`` (``require``);
    a bare name is recorded as it is.

    The writes that predate roles (an import, a retraction, a detection run) take either: the app passes
    the logged-in user as an ``Actor``, so its roles hold there; the CLI, which holds the store file itself,
    passes a name.

    Examples
    --------
    >>> recorded_name("nightly-job", Role.ADMIN, "import a file")
    'nightly-job'
    >>> recorded_name(Actor("guest", Role.VIEWER), Role.ADMIN, "import a file")
    Traceback (most recent call last):
    ...
    analytics.remediation.roles.PermissionDenied: guest (viewer) may not import a file: needs the admin role.
    """
    if isinstance(who, Actor):
        require(who, role, doing)
        return who.name
    return who


@dataclasses.dataclass(frozen=True)
class RoleBook:
    """Roles by name and by e-mail domain, with a default; empty (``single_user``) without a roles file."""

    names: Mapping[str, Role] = dataclasses.field(default_factory=dict)
    domains: Mapping[str, Role] = dataclasses.field(default_factory=dict)
    default: Role = Role.VIEWER
    single_user: bool = True

    def role_of(self, name: str) -> Role:
        """The role of ``name``: its own entry, else its e-mail domain's, else the default (admin in
        single-user mode)."""
        if self.single_user:
            return Role.ADMIN
        key = name.strip().lower()
        if key in self.names:
            return self.names[key]
        domain = key[key.rfind("@"):] if "@" in key else None
        if domain is not None and domain in self.domains:
            return self.domains[domain]
        return self.default

    def actor(self, name: str) -> Actor:
        """``name`` with its role."""
        return Actor(name, self.role_of(name))


def role_book(path: str | Path | None = None, *, environ: Mapping[str, str] | None = None) -> RoleBook:
    """Read the roles file ``path`` (default: ``$LABELWATCH_ROLES``); single-user mode without one.

    Raises
    ------
    ValueError
        The file is missing, not TOML, or names an unknown role (the message names the file and entry).
    """
    environ = os.environ if environ is None else environ
    path = path or environ.get(ROLES_ENV)
    if not path:
        return RoleBook()
    file = Path(path)
    try:
        config = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"The roles file {file} does not exist (set by {ROLES_ENV} or --roles).") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"The roles file {file} is not valid TOML: {exc}") from None
    table = config.get("roles")
    if not isinstance(table, dict):
        raise ValueError(f"The roles file {file} has no [roles] table.")
    names: dict[str, Role] = {}
    domains: dict[str, Role] = {}
    default = Role.VIEWER
    for key, value in table.items():
        if key == "default":
            default = _parse(value, file, key)
            continue
        role = _parse(key, file, key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"The roles file {file}: roles.{key} must be a list of names or @domains.")
        for entry in value:
            entry = entry.strip().lower()
            (domains if entry.startswith("@") else names)[entry] = role
    return RoleBook(names=names, domains=domains, default=default, single_user=False)


def _parse(value: object, file: Path, key: str) -> Role:
    try:
        return Role.parse(str(value))
    except ValueError as exc:
        raise ValueError(f"The roles file {file}: roles.{key}: {exc}") from None


def local_actor(book: RoleBook | None = None, *, environ: Mapping[str, str] | None = None) -> Actor:
    """The configured local user (``LABELWATCH_USER``, else the login name) with their role."""
    environ = os.environ if environ is None else environ
    name = environ.get("LABELWATCH_USER") or getpass.getuser() or "local"
    return (book if book is not None else role_book(environ=environ)).actor(name)
