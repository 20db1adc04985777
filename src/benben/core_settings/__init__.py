"""Every core setting, defined once (plugins declare theirs in their metadata).

:data:`CORE_SETTINGS` is what ``benben config``, the generated configuration reference and
start-up validation all read, so a setting is added in exactly one place: the module of its
area (instance, access, data, events, realtime, worker, backup, telemetry). Their order here is the
order users see.
"""

from __future__ import annotations

from benben.core_settings.access import ACCESS_SETTINGS
from benben.core_settings.backup import BACKUP_SETTINGS
from benben.core_settings.data import DATA_SETTINGS
from benben.core_settings.events import EVENTS_SETTINGS
from benben.core_settings.instance import INSTANCE_SETTINGS
from benben.core_settings.realtime import REALTIME_SETTINGS
from benben.core_settings.telemetry import TELEMETRY_SETTINGS
from benben.core_settings.worker import WORKER_SETTINGS
from benben.settings import Setting

__all__ = ["CORE_SETTINGS"]

CORE_SETTINGS: tuple[Setting, ...] = (
    *INSTANCE_SETTINGS,
    *ACCESS_SETTINGS,
    *DATA_SETTINGS,
    *EVENTS_SETTINGS,
    *REALTIME_SETTINGS,
    *WORKER_SETTINGS,
    *BACKUP_SETTINGS,
    *TELEMETRY_SETTINGS,
)
