"""The plugin's work on the worker, declared here:

- ``files.cleanup(collection_id, record_ids, before)``: the files of deleted records and
  collections (:mod:`.cleanup`), sent by the listener on ``record.deleted`` and
  ``collection.deleted`` once the delete has committed;
- ``files.sweep``: the periodic orphan sweep (:mod:`.sweep`), every
  ``benben.files.sweep_interval_seconds``;
- ``files.thumbnails(sha256, sizes=None)``: thumbnails of an image (:mod:`.thumbnails`), sent
  after an image's upload and by a download of a thumbnail not made yet.
"""

from __future__ import annotations

from benben.plugin import Configurator

from .cleanup import TASK as CLEANUP_TASK
from .cleanup import cleanup_task, deleted_listener
from .settings import get_settings
from .sweep import TASK as SWEEP_TASK
from .sweep import sweep_task

__all__ = ["CLEANUP_TASK", "SWEEP_TASK", "includeme"]


def includeme(config: Configurator) -> None:
    config.add_task(CLEANUP_TASK, cleanup_task)
    config.add_task(SWEEP_TASK, sweep_task)
    config.add_periodic_task(SWEEP_TASK, get_settings(config.registry).sweep_interval_seconds)
    config.add_event_listener(deleted_listener, "record.deleted", "collection.deleted")
    config.include(".thumbnails")
