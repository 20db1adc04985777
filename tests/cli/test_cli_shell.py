"""`benben shell -c`: the app, registry, request and a session joined to request.tm."""

from __future__ import annotations

import pytest
from cli_support import run_benben

pytestmark = pytest.mark.slow

CREATE = (
    "from sqlalchemy import text\n"
    "dbsession.execute(text('CREATE TABLE IF NOT EXISTS notes (body TEXT)'))\n"
    "dbsession.execute(text(\"INSERT INTO notes VALUES ('{body}')\"))\n"
)
COUNT = (
    "from sqlalchemy import text\n"
    "print(dbsession.execute(text('SELECT count(*) FROM notes')).scalar())\n"
)


def test_shell_namespace(tmp_path):
    code = (
        "print(type(registry).__name__, registry is app.registry)\n"
        "print(request.registry is registry, request.dbsession is dbsession, tm is request.tm)\n"
        "print(settings['benben.environment'], settings is registry.settings)\n"
        "from sqlalchemy import text\n"
        "print(dbsession.execute(text('SELECT 41 + 1')).scalar())\n"
        "print(request.application_url)\n"
    )
    result = run_benben("shell", "-c", code, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Registry True",
        "True True True",
        "development True",
        "42",
        "http://localhost",
    ]


def test_shell_commits_nothing_unless_told(tmp_path):
    setup = run_benben("shell", "-c", CREATE.format(body="kept") + "tm.commit()", cwd=tmp_path)
    assert setup.returncode == 0, setup.stderr

    discarded = run_benben("shell", "-c", CREATE.format(body="lost"), cwd=tmp_path)
    assert discarded.returncode == 0, discarded.stderr

    count = run_benben("shell", "-c", COUNT, cwd=tmp_path)
    assert count.stdout == "1\n"


def test_shell_reads_code_from_stdin(tmp_path):
    result = run_benben(
        "shell", "-c", "-", cwd=tmp_path, stdin="print(settings['benben.data_dir'])"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{tmp_path / 'var'}\n"  # ./var, resolved once where it started


def test_shell_code_errors_are_one_line(tmp_path):
    failing = run_benben("shell", "-c", "x = 1\nundefined_name\n", cwd=tmp_path)
    assert failing.returncode == 1
    assert failing.stderr.splitlines()[-1] == (
        "benben: error: -c code failed at line 2: NameError: name 'undefined_name' is not defined"
    )
    assert "Traceback" not in failing.stderr

    syntax = run_benben("shell", "-c", "def (", cwd=tmp_path)
    assert syntax.returncode == 2
    assert syntax.stderr.splitlines()[-1].startswith(
        "benben: error: -c code: SyntaxError at line 1"
    )

    exiting = run_benben("shell", "-c", "raise SystemExit(3)", cwd=tmp_path)
    assert exiting.returncode == 3


def test_shell_with_ini(tmp_path):
    (tmp_path / "app.ini").write_text(
        "[app:main]\nuse = egg:benben\nbenben.data_dir = %(here)s/data\n"
        "benben.cache.backend = null\n"
    )
    result = run_benben(
        "shell", "--ini", "app.ini", "-c", "print(settings['benben.cache.backend'])", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "null\n"
    assert (tmp_path / "data" / "benben.sqlite").is_file()


def test_interactive_shell_reads_stdin(tmp_path):
    result = run_benben("shell", cwd=tmp_path, stdin="print(dbsession is request.dbsession)\n")
    assert result.returncode == 0, result.stderr
    assert "True" in result.stdout
    assert "Benben " in result.stderr  # the banner naming what is at hand
    assert "dbsession  request.dbsession, joined to tm" in result.stderr
