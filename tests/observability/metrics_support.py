"""Scraping ``/metrics`` in tests (imported by tests/observability as ``metrics_support``)."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

LOCAL = {"REMOTE_ADDR": "127.0.0.1"}
TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"


class Scrape:
    """The parsed families of one scrape, and its text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.families = {family.name: family for family in text_string_to_metric_families(text)}

    def samples(self, name: str, /, **labels: str) -> list[Any]:
        """Samples called ``name`` (``benben_http_requests_total``...) whose labels include
        ``labels``."""
        return [
            sample
            for family in self.families.values()
            for sample in family.samples
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
        ]

    def value(self, name: str, /, **labels: str) -> float:
        """The sum of the matching samples; 0 when there is none."""
        return sum(sample.value for sample in self.samples(name, **labels))


def scrape(app: Any, **kwargs: Any) -> Scrape:
    kwargs.setdefault("extra_environ", LOCAL)
    response = app.get("/metrics", **kwargs)
    assert response.headers["Content-Type"] == TEXT_FORMAT
    return Scrape(response.text)
