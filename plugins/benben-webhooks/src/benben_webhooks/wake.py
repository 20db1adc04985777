"""Waking the sender when the API made deliveries due (a test event, a redelivery)."""

from __future__ import annotations

from benben.plugin import Request, enqueue_task

__all__ = ["SEND_TASK", "wake_sender"]

# The delivery side's task (benben_webhooks.tasks): sends the due deliveries of one endpoint.
SEND_TASK = "webhooks.send"


def wake_sender(request: Request, endpoint_id: str) -> None:
    """Have the endpoint's due deliveries sent once this request commits.  Only a wake-up: the
    rows are the truth, and the periodic send finds them if the broker lost the message."""
    enqueue_task(request, SEND_TASK, endpoint_id)
