"""Parameters: the scenario schema (every key with its unit, default and source), reading and validating
scenario files, ``--set`` key paths, and the timeline of scheduled changes. The bottom layer: it imports no
other part of ``sim``."""
