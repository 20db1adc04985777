"""Permission names used in ``__acl__`` lists, and what each API-token scope may do.

Views declare one of these permissions; ``pyramid.authorization.ACLHelper`` grants it from the
context's ``__acl__``, then the token's scopes must allow it too (see :mod:`.policy`).
"""

from __future__ import annotations

from collections.abc import Container

from pyramid.authorization import ALL_PERMISSIONS as _PYRAMID_ALL_PERMISSIONS

__all__ = [
    "ADMIN",
    "ALL_PERMISSIONS",
    "CHANGE_PERMISSIONS",
    "CREATE",
    "READ",
    "SCOPES",
    "SCOPE_PERMISSIONS",
    "WRITE",
    "scopes_allow",
]

READ = "read"
WRITE = "write"
CREATE = "create"
ADMIN = "admin"
# Changing who may do what (a collection's or a record's ``permissions``): granted apart from
# WRITE, so that writers and ``write``-scoped tokens change data only.  Only the ``admin`` scope
# (every permission) allows it.
CHANGE_PERMISSIONS = "change_permissions"

# Pyramid's marker: contains every permission, including ones plugins define. Usable in an ACE
# (``(Allow, ADMIN_ROLE, ALL_PERMISSIONS)``) and as a set in SCOPE_PERMISSIONS.
ALL_PERMISSIONS: Container[str] = _PYRAMID_ALL_PERMISSIONS

SCOPES = ("read", "write", "admin")
SCOPE_PERMISSIONS: dict[str, Container[str]] = {
    "read": frozenset({READ}),
    "write": frozenset({READ, WRITE, CREATE}),
    "admin": ALL_PERMISSIONS,
}


def scopes_allow(scopes: frozenset[str] | None, permission: str) -> bool:
    """Whether a credential limited to ``scopes`` may use ``permission`` (None: unrestricted)."""
    if scopes is None:
        return True
    return any(permission in SCOPE_PERMISSIONS.get(scope, ()) for scope in scopes)
