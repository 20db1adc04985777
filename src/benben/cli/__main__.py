"""``python -m benben.cli``: the same as the ``benben`` command."""

from benben.cli import main

raise SystemExit(main())
