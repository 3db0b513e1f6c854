"""fraudstream: simulate, stream and detect financial-transaction fraud in real time.

>>> import fraudstream
>>> frame = fraudstream.simulate("handbook", rows=100, seed=1, n_customers=100, n_terminals=200)
>>> len(frame)
100
"""

from __future__ import annotations

__version__ = "0.1.0"

from fraudstream.stream.reader import stream
from fraudstream.stream.reader_async import stream_async
from fraudstream.worlds import simulate

__all__ = ["__version__", "simulate", "stream", "stream_async"]
