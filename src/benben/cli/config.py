"""``benben config``: the effective settings, where each came from, secrets masked, and what was
not recognised (a misspelt key or environment variable is otherwise silently ignored)."""

from __future__ import annotations

import argparse
import json
import os
import re
from collections.abc import Mapping
from typing import Any

from benben.cli.common import add_ini_argument, read_app_settings
from benben.settings import ENV_PREFIX, SECRET_MASK, ResolvedSettings

NAME = "config"
# Non-Benben keys are passed to Pyramid untouched; mask the ones whose name suggests a secret.
_SENSITIVE_KEY = re.compile(r"secret|password|passwd|token|key|credential|\.url\Z", re.IGNORECASE)
_PASTEDEPLOY_KEYS = {"use", "here", "__file__"}


def register(commands: Any) -> None:
    parser = commands.add_parser(
        NAME,
        help="show the effective settings and where each value came from",
        description="Show every setting's effective value (secrets masked) and its source: "
        "default, ini, env (a BENBEN_* variable) or generated. Also lists ini keys and "
        "BENBEN_* environment variables that match no setting, which are ignored.",
    )
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
    unknown_env = sorted(k for k in environ if k.startswith(ENV_PREFIX) and k not in known_env)
    passthrough = {
        key: SECRET_MASK if _SENSITIVE_KEY.search(key) else str(value)
        for key, value in sorted(resolved.passthrough.items())
        if key not in _PASTEDEPLOY_KEYS
    }
    return {
        "ini": os.path.abspath(ini) if ini else None,
        "settings": settings,
        "unknown": list(resolved.unknown),
        "unknown_env": unknown_env,
        "other": passthrough,
    }


def print_report(report: Mapping[str, Any]) -> None:
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
