"""A Redis connection whose first reply is lost after Redis ran the command: what a timeout
looks like to the window counter, which then sends the call again."""

from __future__ import annotations

from typing import Any

from benben.ratelimit.window import WindowCounter


def lose_the_first_reply(counter: WindowCounter) -> list[str]:
    """Make ``counter``'s next script call lose its reply once; returns the commands sent."""
    import redis.exceptions

    direct = counter._redis._redis
    sent: list[str] = []

    class LosesTheFirstReply:
        def execute(self, *command: Any) -> Any:
            reply = direct.execute(*command)  # Redis ran it
            sent.append(command[0])
            if len(sent) == 1:
                raise redis.exceptions.ConnectionError("Error while reading from socket")
            return reply

    counter._redis._redis = LosesTheFirstReply()
    return sent
