"""A/B two revisions of Benben served identically: does B serve the hot paths faster than A?

    python benchmarks/ab_revisions.py A_REV B_REV [--paths get,page,post]
                                      [--backend postgresql|sqlite] [--duration 5] [--rounds 3]
                                      [--workers 2] [--threads 2]

For a "Drop workaround: X" commit C: ``python benchmarks/ab_revisions.py C^ C``; a B/A below
0.91 on a hot path means the workaround (in A) still pays at least 10% there (issue #15).

Each revision is checked out in a git worktree under a temporary directory (removed at the
end, whatever happens) and served by this tree's ``serve_app.py`` with the revision's code
(``PYTHONPATH=<worktree>/src`` and its plugins' ``src``, the same virtualenv): Gunicorn with
waitress in each worker, ``--workers`` x ``--threads`` (2 x 2; PostgreSQL + Redis), or waitress
with one worker (the default on SQLite, whose in-process cache is not shared). Both get the same
settings, their own schema and Redis prefix, and the same seeded data. Every path then runs
``--rounds`` times on each, alternating which goes first, and the medians of req/s and of the
per-round B/A ratio are printed. Entry points (the plugins found) come from the virtualenv's
installed metadata, not the revision's. Needs ``wrk`` on PATH; not part of the test run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from wrk_support import (
    PATHS,
    WRK_CONNECTIONS,
    WRK_THREADS,
    benben_environment,
    free_port,
    login_and_seed,
    maintain,
    require_wrk,
    run_wrk,
    wait_until_up,
    wrk_script,
)

LAUNCHER = str(Path(__file__).with_name("serve_app.py"))
PAYS = 1.10  # a workaround stays when it makes its path at least this much faster


def git(*args: str, cwd: Path) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"git {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout.strip()


@contextlib.contextmanager
def worktree(repo: Path, revision: str, where: Path) -> Iterator[Path]:
    git("worktree", "add", "--detach", "--quiet", str(where), revision, cwd=repo)
    try:
        yield where
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(where)], cwd=repo,
                       capture_output=True, check=False)  # fmt: skip
        subprocess.run(["git", "worktree", "prune"], cwd=repo, capture_output=True, check=False)


class Revision:
    """One revision served from its worktree, seeded and logged in."""

    def __init__(self, label: str, sha: str, tree: Path, env: dict[str, str], args: Any) -> None:
        self.label, self.sha, self.env = label, sha, env
        sources = [tree / "src", *sorted(tree.glob("plugins/*/src"))]
        self.environ = {**os.environ, **env,
                        "PYTHONPATH": os.pathsep.join(str(s) for s in sources)}  # fmt: skip
        prepare = [sys.executable, LAUNCHER, "benben", "--prepare"]
        subprocess.run(prepare, env=self.environ, cwd=tree, check=True)
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        command = [sys.executable, LAUNCHER, "benben", str(port), f"--workers={args.workers}",
                   f"--threads={args.threads}"]  # fmt: skip
        self.process = subprocess.Popen(command, env=self.environ, cwd=tree)
        wait_until_up(self.base + "/health/ready", self.process)
        self.token = login_and_seed(self.base)

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def compare(key: str, a: Revision, b: Revision, args: argparse.Namespace) -> dict[str, Any]:
    label, path, kind = PATHS[key]
    scripts = {}
    for revision in (a, b):
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(wrk_script(kind, revision.token))
        scripts[revision.label] = script.name
    runs: dict[str, list[dict[str, float]]] = {"A": [], "B": []}
    try:
        for revision in (a, b):  # warm-up: caches, connection pools
            run_wrk(revision.base + path, 2, scripts[revision.label],
                    threads=WRK_THREADS, connections=WRK_CONNECTIONS)  # fmt: skip
        for round_ in range(args.rounds):
            for revision in (a, b) if round_ % 2 == 0 else (b, a):
                runs[revision.label].append(
                    run_wrk(revision.base + path, args.duration, scripts[revision.label],
                            threads=WRK_THREADS, connections=WRK_CONNECTIONS)
                )  # fmt: skip
                maintain(revision.env)
    finally:
        for name in scripts.values():
            os.unlink(name)
    ratios = [rb["rps"] / ra["rps"] for ra, rb in zip(runs["A"], runs["B"], strict=True)]
    return {"label": label, "runs": runs, "ratios": ratios}


def report(a: Revision, b: Revision, results: list[dict[str, Any]], args: Any) -> None:
    server = f"{args.workers} worker(s) x {args.threads} threads, {args.backend}"
    print(f"\nA = {a.sha[:12]}  B = {b.sha[:12]}  ({server}; {args.rounds} rounds of "
          f"{args.duration} s, medians)")  # fmt: skip
    print(f"{'path':<24} {'A req/s':>8} {'B req/s':>8} {'B/A':>6} {'(range)':>11} "
          f"{'non-2xx A/B':>12}")  # fmt: skip
    for result in results:
        runs, ratios = result["runs"], result["ratios"]
        rps = {k: statistics.median(r["rps"] for r in runs[k]) for k in runs}
        errors = {k: sum(r["errors"] for r in runs[k]) for k in runs}
        spread = f"{min(ratios):.2f}-{max(ratios):.2f}"
        median = statistics.median(ratios)
        verdict = f"  A pays >= {PAYS - 1:.0%}" if median <= 1 / PAYS else ""
        print(f"{result['label']:<24} {rps['A']:>8.0f} {rps['B']:>8.0f} {median:>6.2f} "
              f"{spread:>11} {errors['A']:>5.0f}/{errors['B']:<6.0f}{verdict}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", metavar="A_REV")
    parser.add_argument("b", metavar="B_REV")
    parser.add_argument("--paths", default="get,page,post", help=f"of {','.join(PATHS)}")
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--duration", type=int, default=5, help="seconds of each wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each path per revision")
    parser.add_argument("--workers", type=int, help="default: 2 on PostgreSQL, 1 on SQLite")
    parser.add_argument("--threads", type=int, default=2, help="threads per worker")
    args = parser.parse_args()
    keys = [key for key in args.paths.split(",") if key]
    if unknown := sorted(set(keys) - set(PATHS)):
        parser.error(f"unknown paths {unknown}; choose among {sorted(PATHS)}")
    if args.workers is None:
        args.workers = 2 if args.backend == "postgresql" else 1
    if args.backend == "sqlite" and args.workers > 1:
        parser.error("--workers > 1 on SQLite: its in-process cache is not shared (stale reads)")
    require_wrk()
    repo = Path(git("rev-parse", "--show-toplevel", cwd=Path(__file__).parent))
    shas = [git("rev-parse", "--verify", f"{rev}^{{commit}}", cwd=repo) for rev in (args.a, args.b)]
    temp = Path(tempfile.mkdtemp(prefix="benben-ab-"))
    try:
        with contextlib.ExitStack() as stack:
            revisions = []
            for label, sha in zip(("A", "B"), shas, strict=True):
                tree = stack.enter_context(worktree(repo, sha, temp / label))
                data_dir = temp / f"data-{label}"
                data_dir.mkdir(mode=0o700)
                env = stack.enter_context(benben_environment(args.backend, str(data_dir)))
                revision = Revision(label, sha, tree, env, args)
                stack.callback(revision.close)
                revisions.append(revision)
            a, b = revisions
            results = [compare(key, a, b, args) for key in keys]
            report(a, b, results, args)
    finally:
        shutil.rmtree(temp, ignore_errors=True)


if __name__ == "__main__":
    main()
