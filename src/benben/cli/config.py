"""``benben config``: the effective settings, where each came from, secrets masked, and what was
not recognised (a misspelt key or environment variable is otherwise silently ignored)."""

from __future__ import annotations

import argparse
import json
import os
import re
import textwrap
from collections.abc import Mapping
from typing import Any

from benben.cli.common import add_ini_argument, read_app_settings
from benben.settings import ENV_PREFIX, SECRET_MASK, ResolvedSettings

NAME = "config"
# Non-Benben keys are passed to Pyramid untouched; mask the ones whose name suggests a secret.
_SENSITIVE_KEY = re.compile(r"secret|password|passwd|token|key|credential|\.url\Z", re.IGNORECASE)
_PASTEDEPLOY_KEYS = {"use", "here", "__file__"}


# Reserved for test suites (benben.testing reads BENBEN_TEST_POSTGRESQL_URL...): never a setting,
# since no plugin may be named "test" (benben.plugins.metadata.RESERVED_NAMES).
_TEST_ENV_PREFIX = ENV_PREFIX + "TEST_"
_DESCRIPTION = (
    "Show every setting's effective value (secrets masked) and its source: default, ini, env (a "
    "BENBEN_* variable) or generated; the data directory in use; ini keys and BENBEN_* "
    "environment variables that match no setting, which are ignored. The settings, with the "
    "values each accepts, are listed below."
)


class _HelpWithSettings(argparse.Action):
    """``--help``, followed by every setting of core and of the installed plugins with the values
    it accepts; built only when asked, as it imports the plugins."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="show this help and every setting")

    def __call__(self, parser: argparse.ArgumentParser, *_args: Any, **_kwargs: Any) -> None:
        parser.epilog = settings_help()
        parser.print_help()
        parser.exit()


def settings_help() -> str:
    from benben.core_settings import CORE_SETTINGS
    from benben.plugins import discover_plugins
    from benben.serving import SERVER_SETTINGS

    plugin_settings = [s for p in discover_plugins() for s in p.metadata.settings]
    lines = ["settings (ini key, BENBEN_* variable: accepted values; default):"]
    for setting in (*CORE_SETTINGS, *plugin_settings, *SERVER_SETTINGS):
        lines.append(f"  {setting.name}, {setting.env}")
        lines.append(f"      {setting.accepts}; default {_plain(setting.default)}")
    lines.append(
        "benben.server.* are benben serve's, set in [server:main] "
        "(docs/reference/configuration.md)."
    )
    return "\n".join(lines)


def _plain(default: Any) -> str:
    if default is None or default == "" or default == ():
        return "empty"
    if isinstance(default, bool):
        return str(default).lower()
    return " ".join(default) if isinstance(default, tuple) else str(default)


def register(commands: Any) -> None:
    parser = commands.add_parser(
        NAME,
        help="show the effective settings and where each value came from",
        description="\n".join(textwrap.wrap(_DESCRIPTION, 88)),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=False,
    )
    parser.add_argument("-h", "--help", action=_HelpWithSettings)
    add_ini_argument(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from benben.config import load_settings
    from benben.plugins import discover_plugins

    resolved, _enabled = load_settings(read_app_settings(args.ini), os.environ, discover_plugins())
    report = describe(resolved, os.environ, args.ini)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0


def describe(
    resolved: ResolvedSettings, environ: Mapping[str, str], ini: str | None
) -> dict[str, Any]:
    settings = []
    for name, shown, source in resolved.describe():
        definition = resolved.definitions.get(name)
        settings.append(
            {
                "name": name,
                "value": shown,
                "source": source,
                "env": definition.env if definition else None,
                "secret": bool(definition and definition.secret),
                "help": definition.help if definition else "",
            }
        )
    known_env = {definition.env for definition in resolved.definitions.values()}
    unknown_env = sorted(
        k
        for k in environ
        if k.startswith(ENV_PREFIX) and k not in known_env and not k.startswith(_TEST_ENV_PREFIX)
    )
    passthrough = {
        key: SECRET_MASK if _SENSITIVE_KEY.search(key) else str(value)
        for key, value in sorted(resolved.passthrough.items())
        if key not in _PASTEDEPLOY_KEYS
    }
    from benben.cli.datadir import describe_database

    return {
        "ini": os.path.abspath(ini) if ini else None,
        "data_dir": resolved.values["benben.data_dir"],
        "database": describe_database(resolved.values),
        "settings": settings,
        "unknown": list(resolved.unknown),
        "unknown_env": unknown_env,
        "other": passthrough,
    }


def print_report(report: Mapping[str, Any]) -> None:
    print(f"Data directory: {report['data_dir']}")
    print(f"Database: {report['database']}")
    print(f"Settings from {report['ini'] or 'the embedded defaults (no --ini)'}:")
    rows = [("NAME", "VALUE", "SOURCE")]
    for entry in report["settings"]:
        source = entry["source"]
        if source == "env" and entry["env"]:
            source = f"env ({entry['env']})"
        rows.append((entry["name"], entry["value"], source))
    name_width = max(len(row[0]) for row in rows)
    value_width = min(max(len(row[1]) for row in rows), 60)
    for name, value, source in rows:
        print(f"  {name.ljust(name_width)}  {value.ljust(value_width)}  {source}")
    if report["unknown"]:
        print("Unknown settings in the ini, IGNORED (misspelt? a plugin not installed?):")
        for key in report["unknown"]:
            print(f"  {key}")
    if report["unknown_env"]:
        print("Environment variables named BENBEN_* that match no setting, IGNORED:")
        for key in report["unknown_env"]:
            print(f"  {key}")
    if report["other"]:
        print("Other settings, passed to Pyramid as they are:")
        for key, value in report["other"].items():
            print(f"  {key} = {value}")
