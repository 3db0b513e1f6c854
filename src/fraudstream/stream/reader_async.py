"""Iterate a stream server from asyncio: ``async for tx in fraudstream.stream_async("localhost:5555")``.

The same items as :func:`fraudstream.stream` (raw, canonical or batched transactions, label
messages with ``labels=True``), read with ``asyncio`` streams, reconnecting per the same
:class:`~fraudstream.stream.connection.Reconnect` policy. Leaving the ``async for`` (``break``)
or cancelling the task closes the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fraudstream.errors import TransportError
from fraudstream.stream.connection import Reconnect, Reconnection, connect_error, parse_address
from fraudstream.stream.protocol import SUBSCRIBE_LABELS
from fraudstream.stream.reader import RECV_BYTES, MessageDecoder, MessageShaper

__all__ = ["AsyncTransactionStream", "stream_async"]

log = logging.getLogger(__name__)


class AsyncTransactionStream:
    """The transactions of one stream server, for ``async for`` (and ``async with``)."""

    def __init__(self, address: str | tuple[str, int] = "localhost:5555", *, labels: bool = False,
                 canonical: bool = False, batches: int | None = None, max_wait_s: float = 1.0,
                 reconnect: Reconnect | None = None, read_timeout_s: float = 0.5,
                 connect_timeout_s: float = 5.0) -> None:
        self.host, self.port = parse_address(address)
        self.labels = labels
        self.reconnect = reconnect if reconnect is not None else Reconnect()
        self.read_timeout_s = read_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self._shaper = MessageShaper(canonical=canonical, batches=batches, max_wait_s=max_wait_s)
        self._writer: asyncio.StreamWriter | None = None
        self._reader: asyncio.StreamReader | None = None
        self._closed = False
        self.connections = 0

    @property
    def welcome(self) -> dict[str, Any] | None:
        return self._shaper.welcome

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def _open(self) -> None:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port),
                                                    self.connect_timeout_s)
        except TimeoutError as error:
            raise connect_error(self.host, self.port, error) from error
        except OSError as error:
            raise connect_error(self.host, self.port, error) from error
        if self.labels:
            writer.write(SUBSCRIBE_LABELS)
            await writer.drain()
        self._reader, self._writer = reader, writer
        self.connections += 1

    async def open(self) -> AsyncTransactionStream:
        """Connect now (``TransportError`` if there is no server)."""
        if self._reader is None:
            await self._open()
            log.info("connected to %s", self.address)
        return self

    async def _reopen(self) -> bool:
        tries = Reconnection(self.reconnect, self.address)
        for delay in tries:
            await asyncio.sleep(delay)
            if self._closed:
                return False
            try:
                await self._open()
            except TransportError as error:
                tries.failed(error)
                continue
            tries.succeeded()
            return True
        tries.give_up()
        return False

    async def __aiter__(self) -> AsyncIterator[Any]:
        await self.open()
        shaper = self._shaper
        try:
            while not self._closed:
                async for item in self._read_connection():
                    yield item
                await self._close_connection()
                if self._closed or not await self._reopen():
                    break
            for item in shaper.flush():
                yield item
        finally:
            await self.aclose()

    async def _read_connection(self) -> AsyncIterator[Any]:
        assert self._reader is not None
        reader, shaper, decoder = self._reader, self._shaper, MessageDecoder()
        while not self._closed:
            try:
                data = await asyncio.wait_for(reader.read(RECV_BYTES), self.read_timeout_s)
            except TimeoutError:
                for item in shaper.tick():
                    yield item
                continue
            except OSError as error:
                log.warning("connection to %s lost: %s", self.address, error)
                return
            if not data:
                log.info("connection closed by server %s", self.address)
                return
            for message in decoder.feed(data):
                for item in shaper.push(message):
                    yield item

    async def _close_connection(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def aclose(self) -> None:
        self._closed = True
        await self._close_connection()

    async def __aenter__(self) -> AsyncTransactionStream:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def stream_async(address: str | tuple[str, int] = "localhost:5555", *, labels: bool = False,
                 canonical: bool = False, batches: int | None = None, max_wait_s: float = 1.0,
                 reconnect: Reconnect | None = None, read_timeout_s: float = 0.5) -> AsyncTransactionStream:
    """The asyncio twin of :func:`fraudstream.stream` (same arguments, same items)."""
    return AsyncTransactionStream(address, labels=labels, canonical=canonical, batches=batches,
                                  max_wait_s=max_wait_s, reconnect=reconnect, read_timeout_s=read_timeout_s)
