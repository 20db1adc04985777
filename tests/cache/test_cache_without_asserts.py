"""No ``assert`` guards anything in the cache package: ``python -O`` strips them."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import benben.cache

PACKAGE = Path(benben.cache.__file__).parent


def test_the_cache_package_has_no_assert_statements():
    found = [
        f"{path.name}:{node.lineno}"
        for path in sorted(PACKAGE.glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.Assert)
    ]
    assert found == []


GUARDS = """
import socket
from benben.cache.memory import BoundedDict
from benben.cache.peek import readable_now
from benben.cache.redis_versions import subscription_socket

refused = []
try:
    BoundedDict(0)
except ValueError:
    refused.append("max_items")

class PubSub:
    class connection:
        _sock = None
try:
    subscription_socket(PubSub())
except RuntimeError:
    refused.append("subscription socket")

closed = socket.socket()
closed.close()
if not readable_now(closed):
    refused.append("closed socket")
print(",".join(refused))
"""


def test_the_guards_hold_under_python_minus_o():
    result = subprocess.run(
        [sys.executable, "-O", "-c", GUARDS], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "max_items,subscription socket,closed socket"
