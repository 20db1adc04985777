"""What `benben serve` prints once it listens: links (the public URL's when set), the data
directory, the database and the cache, never a password."""

from __future__ import annotations

from types import SimpleNamespace

from benben.cli.datadir import record_data_dir, recorded_data_dir
from benben.cli.serve import start_banner


def settings(tmp_path, **overrides):
    return {
        "benben.public_url": "",
        "benben.data_dir": str(tmp_path / "var"),
        "benben.database.url": "",
        "benben.cache.backend": "memory",
        "benben.cache.url": "redis://127.0.0.1:6379/0",
        **overrides,
    }


def banner(values, base="http://127.0.0.1:6543"):
    """``{name: value}`` of the aligned ``  name      value`` lines."""
    lines = start_banner(SimpleNamespace(settings=values), base)
    return {line[:12].strip(): line[12:] for line in lines if not line.startswith("  note:")}


def test_production_like_settings_show_no_password_and_the_public_url(tmp_path):
    shown = banner(
        settings(
            tmp_path,
            **{
                "benben.public_url": "https://data.example.org/",
                "benben.database.url": "postgresql://benben:db-secret@db.internal/benben",
                "benben.cache.backend": "redis",
                "benben.cache.url": "redis://:cache-secret@cache.internal:6379/2",
            },
        )
    )
    assert shown["home"] == "https://data.example.org/"
    assert shown["API docs"] == "https://data.example.org/api/v1/docs"
    assert shown["database"] == "postgresql+psycopg://benben:***@db.internal/benben"
    assert shown["cache"] == "redis redis://:***@cache.internal:6379/2"
    assert "secret" not in repr(shown)
    assert recorded_data_dir() is None  # a database URL: no data directory to remember


def test_serving_another_embedded_database_than_last_time_is_pointed_out(tmp_path):
    earlier = tmp_path / "elsewhere" / "var"
    earlier.mkdir(parents=True)
    (earlier / "benben.sqlite").touch()
    record_data_dir(earlier)
    lines = start_banner(SimpleNamespace(settings=settings(tmp_path)), "http://127.0.0.1:1")
    assert lines[-1] == (
        f"  note: the last benben serve used the database in {earlier}; this one is another "
        f"({tmp_path / 'var'})"
    )
    assert recorded_data_dir() == tmp_path / "var"
    # The same one again: nothing to point out.
    again = start_banner(SimpleNamespace(settings=settings(tmp_path)), "http://127.0.0.1:1")
    assert not any("note:" in line for line in again)


def test_the_console_is_listed_when_it_is_served(make_app):
    from benben.landing import ADMIN_CONSOLE_ROUTE

    plain = make_app({"benben.plugins.disabled": "console"}).app.registry
    assert "console" not in _names(start_banner(plain, "http://127.0.0.1:1"))

    def console(config):
        config.add_route(ADMIN_CONSOLE_ROUTE, "/admin/")

    registry = make_app({"benben.plugins.disabled": "console"}, include=console).app.registry
    lines = start_banner(registry, "http://127.0.0.1:1")
    assert "  console   http://127.0.0.1:1/admin/" in lines


def _names(lines):
    return {line.split()[0] for line in lines if line.startswith("  ")}
