"""The detection service (``fraudstream detect``): source -> micro-batch -> features ->
detector(s) -> decisions -> sinks, with checkpoints, late labels, hot-swap and alerts.

See ``docs/detection-service.md``. Modules: :mod:`.sources`, :mod:`.batcher`, :mod:`.decode`,
:mod:`.decisions`, :mod:`.alerts`, :mod:`.labels`, :mod:`.reviews`, :mod:`.labels_file`,
:mod:`.sink`, :mod:`.runtime`, :mod:`.deadletter`, :mod:`.monitor`.
"""

from __future__ import annotations

__all__: list[str] = []
