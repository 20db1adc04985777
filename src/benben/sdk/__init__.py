"""The plugin SDK: the plugin template and ``benben plugin new|update`` (scaffold.py), and
``benben plugin check`` (check.py)."""
