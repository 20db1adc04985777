"""The first administrator, so that a newcomer can log in within a minute of ``benben serve``.

At start-up (once the app is created, i.e. after the embedded default's automatic migrations),
when no user exists yet:

- with ``benben.admin_password`` set (``BENBEN_ADMIN_PASSWORD``), ``benben.admin_username``
  (default ``admin``) is created as an administrator.  Several instances starting at once are
  fine: one creates the user, the others find it taken and carry on.  A password that breaks the
  policy stops the start with a ConfigurationError naming the setting.
- without it, a WARNING tells the newcomer the one command that creates the first administrator:
  ``benben users create --admin admin`` (it asks for the password twice).

Once any user exists, the setting is ignored: it never resets a password.
"""

from __future__ import annotations

import logging

from pyramid.exceptions import ConfigurationError
from pyramid.interfaces import IApplicationCreated
from pyramid.registry import Registry
from pyramid.scripting import prepare
from sqlalchemy import select
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from sqlalchemy.orm import Session

from benben.accounts.models import User
from benben.accounts.validation import ConflictError, InvalidInputError

__all__ = [
    "FIRST_ADMIN_KEY",
    "any_user_id",
    "bootstrap_first_admin",
    "missing_table",
    "on_application_created",
]

log = logging.getLogger(__name__)
# SQLite answers a write that lost a race with "database is locked": look again, a few times.
_ATTEMPTS = 3


# What the start-up found ("hint": no user yet), for benben serve's banner (a setup URL).
FIRST_ADMIN_KEY = "benben.accounts.first_admin"


def on_application_created(event: IApplicationCreated) -> None:
    registry = event.app.registry
    registry[FIRST_ADMIN_KEY] = bootstrap_first_admin(registry)


def bootstrap_first_admin(registry: Registry) -> str:
    """Create the configured first administrator if no user exists; returns what happened:
    ``"created"``, ``"exists"`` (users already), ``"raced"`` (another instance was first),
    ``"hint"`` (no password configured: logged how to create one), ``"unmigrated"`` or
    ``"unavailable"`` (the database cannot be reached: logged; the app starts anyway)."""
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            return _attempt(registry)
        except OperationalError as exc:
            if "locked" in str(exc.orig).lower() and attempt < _ATTEMPTS:
                continue
            reason = exc.orig if exc.orig is not None else exc
            problem = " ".join(str(reason).split())
        except SQLAlchemyTimeoutError as exc:
            problem = " ".join(str(exc).split())
        # The app still starts (readiness reports the database); only the check is skipped.
        log.warning(
            "could not check for a first administrator, the database is unavailable (%s); "
            "restart once it is reachable",
            problem,
        )
        return "unavailable"
    raise AssertionError("unreachable")  # pragma: no cover


def _attempt(registry: Registry) -> str:
    from benben.accounts.services import create_user

    settings = registry.settings
    username = settings["benben.admin_username"]
    environment = prepare(registry=registry)
    request = environment["request"]
    request.tm.begin()
    try:
        try:
            anyone = any_user_id(request.dbsession)
        except (OperationalError, ProgrammingError) as exc:
            if not missing_table(exc):
                raise
            log.warning(
                "the accounts tables do not exist yet: run `benben migrate`, then restart "
                "(the first administrator is created at start-up)"
            )
            return "unmigrated"
        if anyone is not None:
            return "exists"
        password = settings["benben.admin_password"]
        if not password:
            log.warning(
                "No users yet: run `benben users create --admin %s` to create the first "
                "administrator (it asks for the password), or start with BENBEN_ADMIN_PASSWORD "
                "set to create '%s' automatically.",
                username,
                username,
            )
            return "hint"
        try:
            create_user(request, username=username, password=password, is_admin=True)
        except InvalidInputError as exc:
            raise ConfigurationError(
                "cannot create the first administrator from benben.admin_username / "
                f"benben.admin_password (BENBEN_ADMIN_PASSWORD): {exc.detail}"
            ) from None
        except ConflictError:
            log.info("first administrator %s was created by another instance", username)
            return "raced"
        request.tm.commit()
        log.info(
            "created the first administrator '%s' from benben.admin_password; log in with "
            "POST /api/v1/auth/login",
            username,
        )
        return "created"
    finally:
        if _active(request):
            request.tm.abort()
        environment["closer"]()


def any_user_id(dbsession: Session) -> str | None:
    return dbsession.scalar(select(User.id).limit(1))


def _active(request: object) -> bool:
    from transaction.interfaces import NoTransaction

    try:
        request.tm.get()  # type: ignore[attr-defined]
    except NoTransaction:
        return False
    return True


def missing_table(exc: Exception) -> bool:
    message = str(getattr(exc, "orig", exc)).lower()
    return "no such table" in message or "does not exist" in message
