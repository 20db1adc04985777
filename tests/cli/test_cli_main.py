"""The command line itself: help everywhere, --version, one-line errors with exit codes."""

from __future__ import annotations

import pytest
from cli_support import benben_command, clean_environ, run_benben

import benben.cli
from benben.version import __version__

COMMANDS = ("serve", "migrate", "plugins", "config", "shell")


def test_top_level_help_lists_every_command(cli):
    result = cli("--help")
    assert result.code == 0
    assert result.out.startswith("usage: benben")
    for command in COMMANDS:
        assert f"\n    {command} " in result.out


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("serve", ("--ini", "--host", "--port", "--threads")),
        ("migrate", ("--ini", "--status")),
        ("plugins", ("--ini", "--json")),
        ("config", ("--ini", "--json")),
        ("shell", ("--ini", "-c CODE")),
    ],
)
def test_each_command_has_help_with_its_options(cli, command, options):
    result = cli(command, "--help")
    assert result.code == 0
    assert result.out.startswith(f"usage: benben {command}")
    for option in options:
        assert option in result.out


def test_version(cli):
    result = cli("--version")
    assert result.code == 0
    assert result.out.strip() == f"benben {__version__}"


def test_no_command_is_a_one_line_usage_error(cli):
    result = cli()
    assert result.code == 2
    names = ", ".join(module.NAME for module in benben.cli.COMMANDS)
    assert names.startswith("serve, migrate, plugins, config, shell")
    assert result.err.strip().splitlines() == [
        f"benben: error: a command is required: {names} (see 'benben --help')"
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("frobnicate",), "argument COMMAND: invalid choice: 'frobnicate'"),
        (("serve", "--port", "x"), "argument --port: invalid port 'x': expected 0-65535"),
        (("serve", "--port", "70000"), "invalid port '70000'"),
        (("serve", "--threads", "0"), "argument --threads: invalid thread count '0'"),
        (("config", "--bogus"), "unrecognized arguments: --bogus"),
    ],
)
def test_bad_options_are_one_line_usage_errors(cli, argv, message):
    result = cli(*argv)
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("benben")
    assert message in lines[0]


def test_missing_ini_file_is_a_usage_error(cli, workdir):
    result = cli("config", "--ini", "nowhere.ini")
    assert result.code == 2
    assert result.err == f"benben: error: ini file {workdir / 'nowhere.ini'} does not exist\n"


def test_ini_without_app_section_is_a_usage_error(cli, workdir):
    (workdir / "server-only.ini").write_text("[server:main]\nuse = egg:waitress#main\n")
    result = cli("migrate", "--ini", "server-only.ini")
    assert result.code == 2
    assert result.err == (
        f"benben: error: {workdir / 'server-only.ini'} has no [app:main] section\n"
    )


def test_unreadable_ini_is_a_usage_error(cli, workdir):
    (workdir / "broken.ini").write_text("[app:main]\nbenben.x = %(nope)s\n")
    result = cli("config", "--ini", "broken.ini")
    assert result.code == 2
    assert result.err.startswith(f"benben: error: cannot read {workdir / 'broken.ini'}: ")
    assert len(result.err.splitlines()) == 1


@pytest.mark.slow
def test_console_script_in_a_real_process(tmp_path):
    """The installed `benben` script: version, help, and a failure without a traceback."""
    assert benben_command()[0].endswith("benben")
    version = run_benben("--version", cwd=tmp_path)
    assert (version.returncode, version.stdout) == (0, f"benben {__version__}\n")
    assert version.stderr == ""  # no dependency warnings leak out

    failure = run_benben(
        "config",
        cwd=tmp_path,
        env=clean_environ(BENBEN_CACHE_BACKEND="x"),
    )
    assert failure.returncode == 2
    assert failure.stderr == (
        "benben: error: invalid value 'x' for setting benben.cache.backend "
        "(from environment variable BENBEN_CACHE_BACKEND): accepted values: memory, redis, null\n"
    )
    assert failure.stdout == ""


def test_traceback_option_lets_the_error_through(cli, monkeypatch):
    from pyramid.exceptions import ConfigurationError

    monkeypatch.setenv("BENBEN_CACHE_BACKEND", "x")
    assert cli("config").code == 2
    with pytest.raises(ConfigurationError, match=r"benben\.cache\.backend"):
        cli("--traceback", "config")
