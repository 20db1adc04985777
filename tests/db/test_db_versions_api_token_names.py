"""Migration 0004: an existing database's API token names become unique among tokens not
revoked, on SQLite (batch mode: the table is copied) and on PostgreSQL."""

from __future__ import annotations

import datetime
import uuid

import pytest
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from benben.accounts.models import User
from benben.db.engine import create_engine_from_settings
from benben.db.migrations import MigrationSource, resolve_location, upgrade
from benben.security.models import ApiToken

CORE = MigrationSource("core", resolve_location("benben.db:versions"), "benben_version_core")
NOW = datetime.datetime(2026, 12, 7, tzinfo=datetime.UTC)


@pytest.fixture
def engine(backends):
    (backends.tmp_path / "var").mkdir(exist_ok=True)
    engine = create_engine_from_settings({"benben.database.url": backends.database_url()})
    yield engine
    engine.dispose()


def upgrade_to(engine, revision):
    script = CORE.script()

    def steps(current, _context):
        return script._upgrade_revs(revision, current)

    with engine.connect() as connection:
        with EnvironmentContext(Config(), script, fn=steps, destination_rev=revision) as env:
            env.configure(
                connection=connection,
                version_table=CORE.version_table,
                render_as_batch=connection.dialect.name == "sqlite",
            )
            with env.begin_transaction():
                env.run_migrations()
        connection.commit()


def token(name, user_id="u1", revoked=False, digest=None):
    return {
        "id": str(uuid.uuid4()),
        "user_id": user_id,
        "name": name,
        "scopes": "read",
        "token_hash": digest or f"{name}-{revoked}".ljust(64, "0"),
        "created_at": NOW,
        "revoked_at": NOW if revoked else None,
    }


def test_an_existing_database_is_upgraded_and_revoked_names_become_free(engine):
    upgrade_to(engine, "0003_auth_epoch")
    tokens = ApiToken.__table__
    with engine.begin() as connection:
        for user_id in ("u1", "u2"):
            connection.execute(
                insert(User.__table__).values(
                    id=user_id, username=user_id, password_hash="x", display_name="",
                    is_active=True, is_admin=False, created_at=NOW, updated_at=NOW,
                )
            )  # fmt: skip
        connection.execute(insert(tokens).values(token("ci", revoked=True)))
        connection.execute(insert(tokens).values(token("deploy")))
    with pytest.raises(IntegrityError), engine.begin() as connection:  # before: for ever
        connection.execute(insert(tokens).values(token("ci", digest="c" * 64)))

    (result,) = upgrade(engine, [CORE])
    assert result.before == ("0003_auth_epoch",)
    assert result.after == tuple(CORE.heads())

    with engine.begin() as connection:
        assert connection.scalar(select(func.count()).select_from(tokens)) == 2  # rows kept
        connection.execute(insert(tokens).values(token("ci", digest="c" * 64)))
        connection.execute(insert(tokens).values(token("deploy", user_id="u2", digest="d" * 64)))
    for duplicate in (token("ci", digest="e" * 64), token("deploy", digest="f" * 64)):
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(insert(tokens).values(duplicate))
    with engine.begin() as connection:  # revoking frees it again; the foreign key still cascades
        connection.execute(update(tokens).where(tokens.c.name == "ci").values(revoked_at=NOW))
        connection.execute(insert(tokens).values(token("ci", digest="g" * 64)))
        connection.execute(User.__table__.delete().where(User.__table__.c.id == "u1"))
        owners = connection.scalars(select(tokens.c.user_id)).all()
    assert owners == ["u2"]
