"""A test-only hook that lets the crash tests SIGKILL ``qa index`` at a chosen point.

With ``QA_TEST_PAUSE_AT=<point>`` in the environment, the process touches the file named by
``QA_TEST_PAUSE_MARKER`` (if set) when it reaches ``<point>`` and then sleeps, so that the test
can kill it exactly there. The points are:

- ``embed``: after the first encoder call of a batch (rows of that batch not yet written);
- ``save``: inside the vector write, the temporary FAISS file written but not yet renamed;
- ``commit``: the new FAISS file in place and the SQLite rows written, just before COMMIT;
- ``swap``: ``qa index --rebuild`` between moving the old index aside and moving the new one in.

Unset (the default), ``pause_at`` is one dictionary look-up and does nothing.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

ENV = "QA_TEST_PAUSE_AT"
MARKER_ENV = "QA_TEST_PAUSE_MARKER"
POINTS = ("embed", "save", "commit", "swap")


def pause_at(point: str) -> None:
    if os.environ.get(ENV) != point:
        return
    marker = os.environ.get(MARKER_ENV)
    if marker:
        Path(marker).write_text(str(os.getpid()))
    time.sleep(3600)  # the test kills us here
