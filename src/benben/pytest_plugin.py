"""Benben's pytest plugin, registered through the ``pytest11`` entry point: the ``benben_*``
fixtures for plugin authors' tests (being written: see docs/plugin-api.md)."""
