"""``benben plugin new|update|check``: the plugin SDK's commands (benben.sdk)."""

from __future__ import annotations

from typing import Any

from benben.sdk import check

NAME = "plugin"


def register(commands: Any) -> None:
    parser = commands.add_parser(
        NAME,
        help="write plugins: start one from the template, update it, check it",
        description="The plugin SDK: 'new' renders the plugin template into a ready project, "
        "'update' brings a project forward to this Benben's template, 'check' builds a plugin "
        "and runs its tests against the installed Benben (docs/tutorial-plugin.md).",
    )
    actions = parser.add_subparsers(title="actions", dest="action", metavar="ACTION", required=True)
    checking = actions.add_parser(
        "check", help="build a plugin, verify its entry point and metadata, run its tests"
    )
    check.add_arguments(checking)
    checking.set_defaults(handler=check.run)
