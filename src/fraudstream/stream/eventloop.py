"""The event loop the stream server runs on: uvloop when it is installed, else asyncio's own.

uvloop (libuv, written in Cython) runs the same asyncio code with a cheaper loop and cheaper
transports: a ``transport.write`` to a socket is one C call. It is a core dependency on Linux
and macOS; where it is missing (Windows) or unwanted (``--loop asyncio``) the server runs on
asyncio's default loop with the same behaviour, only slower.

>>> loop_factory("asyncio") is None
True
>>> loop_factory("tokio")
Traceback (most recent call last):
...
fraudstream.errors.ConfigError: --loop must be one of auto, uvloop, asyncio, got 'tokio'
>>> run(_answer(), loop="asyncio")
42
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from fraudstream.errors import ConfigError

__all__ = ["EVENT_LOOPS", "loop_factory", "loop_name", "run"]

log = logging.getLogger(__name__)

EVENT_LOOPS: tuple[str, ...] = ("auto", "uvloop", "asyncio")
"""``auto``: uvloop if importable, else asyncio; ``uvloop``: uvloop or a ConfigError; ``asyncio``."""

T = TypeVar("T")


def loop_factory(name: str = "auto") -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The factory of the loop called ``name``; ``None`` means asyncio's default loop."""
    if name not in EVENT_LOOPS:
        raise ConfigError(f"--loop must be one of {', '.join(EVENT_LOOPS)}, got {name!r}")
    if name == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if name == "uvloop":
            raise ConfigError("--loop uvloop: uvloop is not installed (pip install uvloop; "
                              "it does not exist for Windows); use --loop asyncio") from None
        log.info("uvloop is not installed; running on asyncio's default event loop")
        return None
    return uvloop.new_event_loop  # type: ignore[no-any-return]


def loop_name(loop: asyncio.AbstractEventLoop) -> str:
    """``uvloop`` or ``asyncio``: which loop runs ``loop``."""
    return "uvloop" if type(loop).__module__.partition(".")[0] == "uvloop" else "asyncio"


def run(main: Coroutine[Any, Any, T], *, loop: str = "auto") -> T:
    """``asyncio.run(main)`` on the loop named ``loop`` (see :data:`EVENT_LOOPS`)."""
    with asyncio.Runner(loop_factory=loop_factory(loop)) as runner:
        return runner.run(main)


async def _answer() -> int:
    return 42
