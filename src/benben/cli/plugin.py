"""``benben plugin new|update|check``: the plugin SDK's commands (benben.sdk)."""

from __future__ import annotations

import argparse
from pathlib import Path
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

    new = actions.add_parser(
        "new",
        help="start a plugin: a ready project from the template (no network)",
        description="Render Benben's plugin template into a new project: a resource with its "
        "model, migration, ACL'd API, console page, event listener and task, their tests, a CI "
        "workflow and a README on publishing.",
    )
    new.add_argument("name", help="the plugin's name: lowercase letters, digits and _")
    new.add_argument(
        "--directory", type=Path, help="where to write it (default: ./benben-NAME)", default=None
    )
    new.add_argument("--description", default="", help="one line: what the plugin does")
    new.add_argument("--author", default="", help="the author named in pyproject.toml")
    new.add_argument(
        "--force", action="store_true", help="write into an existing, non-empty directory"
    )
    new.set_defaults(handler=run_new)

    update = actions.add_parser(
        "update",
        help="bring a generated plugin forward to this Benben's template",
        description="Re-render the template with the answers recorded in .benben-template.json: "
        "files you never changed are updated, new files added; a file both you and the template "
        "changed is left alone, the template's version written next to it as "
        "<file>.template-new.",
    )
    update.add_argument(
        "path", nargs="?", type=Path, default=Path(), help="the project (default: here)"
    )
    update.add_argument(
        "--dry-run", action="store_true", help="say what would change, change nothing"
    )
    update.set_defaults(handler=run_update)

    checking = actions.add_parser(
        "check", help="build a plugin, verify its entry point and metadata, run its tests"
    )
    check.add_arguments(checking)
    checking.set_defaults(handler=check.run)


def run_new(args: argparse.Namespace) -> int:
    # Imported here: jinja2 and the template are for this command only, not every `benben`.
    from benben.sdk.scaffold import new_plugin

    target, files = new_plugin(
        args.name,
        args.directory,
        description=args.description,
        author=args.author,
        force=args.force,
    )
    print(f"Created plugin {args.name!r} in {target}/ ({len(files)} files).")
    print("Next, in the environment Benben is installed in:")
    print(f"  cd {target}")
    print("  pip install -e '.[test]'       # the plugin, and what its tests need")
    print("  pytest                         # its tests (--benben-db=all: on PostgreSQL too)")
    print(f"  benben serve                   # GET /{args.name}/notes; its console page")
    print("See README.md there (developing, publishing, getting listed).")
    return 0


def run_update(args: argparse.Namespace) -> int:
    from benben.sdk.update import NEW_SUFFIX, update_plugin

    plan = update_plugin(args.path, dry_run=args.dry_run)
    versions = f"template {plan.from_version} -> {plan.to_version}"
    for line in plan.lines():
        print(line)
    if not plan.changes:
        if plan.from_version == plan.to_version:
            print(f"{args.path}: up to date ({versions}).")
        else:  # the newer template changes none of the project's files: only the record moves
            recorded = "would be recorded: dry run" if args.dry_run else "recorded"
            print(f"{args.path}: no file changes ({versions} {recorded}).")
        return 0
    done = "nothing written: dry run" if args.dry_run else "nothing else touched"
    print(
        f"{args.path}: {len(plan.added)} added, {len(plan.updated)} updated, "
        f"{len(plan.removed)} removed, {len(plan.conflicts)} in conflict ({versions}; {done})."
    )
    if plan.conflicts and not args.dry_run:
        print(f"Merge each *{NEW_SUFFIX} into the file next to it, then delete it.")
    return 0
