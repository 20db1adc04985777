"""Whether a socket has bytes waiting, asked without waiting.

Every hot read asks whether a version announcement is waiting on the Redis subscription (see
:class:`benben.cache.redis_versions.RedisVersionBoard`): one ``recv(1, MSG_PEEK |
MSG_DONTWAIT)`` on the socket object, which leaves the byte in place and cannot block.  A TLS
socket is peeked underneath its encryption (``socket.socket.recv``, not ``SSLSocket.recv``):
whether bytes arrived is all that is asked.  A socket with a Python-level timeout would wait for
it inside ``recv``, and a platform without ``MSG_DONTWAIT`` has no such call: a selector with a
zero timeout answers there.

The caller holds the lock under which the socket's owner closes it: a socket object closed
meanwhile answers "nothing waiting", and its descriptor, perhaps reused by another socket, is
never touched.
"""

from __future__ import annotations

import selectors
import socket

__all__ = ["readable_now"]

_DONT_WAIT = getattr(socket, "MSG_DONTWAIT", 0)  # 0: not on this platform


def readable_now(sock: socket.socket) -> bool:
    """Whether reading ``sock`` would not block: bytes are waiting, or the peer closed it."""
    if sock.fileno() < 0:  # closed by its owner: it reconnects
        return False
    if _DONT_WAIT and not sock.gettimeout():
        try:
            socket.socket.recv(sock, 1, socket.MSG_PEEK | _DONT_WAIT)
        except (BlockingIOError, InterruptedError):
            return False  # nothing yet
        except OSError:
            return True  # failed: whoever reads next meets the failure
        return True  # a byte, or b"": the peer closed it
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_READ)
        return bool(selector.select(0))
