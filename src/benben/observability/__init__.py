"""Observability: request ids, logs with request context, the access log, health checks."""

from __future__ import annotations

from pyramid.config import Configurator
from pyramid.tweens import INGRESS


def includeme(config: Configurator) -> None:
    config.add_tween("benben.observability.tweens.observability_tween_factory", under=INGRESS)
    config.include("benben.observability.health")
