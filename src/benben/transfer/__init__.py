"""Bulk data in and out of one collection: ``benben export`` and ``benben import``.

Both drive the real app in process (see docs/backups.md), so permissions, validation, events,
history and caches are the API's; rate limits are off for the command's own app.

- client.py       the app built for a command, who the requests run as, one request
- export.py       pages of records to JSON Lines or CSV
- csv_values.py   records as CSV rows and back (columns, cells, the schema's types)
- reading.py      the import's input, line by line, checked before it is sent
- import_.py      chunks through POST /api/v1/batch, refused lines, the report
- state.py        the state file that lets an interrupted import continue
"""
