"""uvicorn's httptools protocol with a bound on the request head, for ``elicense serve``.

httptools (llhttp) puts no limit on a request head: uvicorn buffered 19 MB of header fields before
the app saw the request. :class:`HeadLimitedHttpToolsProtocol` counts the bytes read while a head is
incomplete and, past the limit, answers 431 problem+json and closes the connection: it holds at most
the limit plus two reads. The limit is uvicorn's ``h11_max_incomplete_event_size``, the knob its h11
protocol bounds heads with (``elicense serve`` sets it to ``Settings.max_header_bytes``). The app's
own check (:mod:`.guard`) is exact and answers with a request id; this one bounds memory.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from ..errors import HeadTooLarge
from . import problems

__all__ = ["HeadLimitedHttpToolsProtocol"]

#: uvicorn's own default for h11, when the knob is unset
_DEFAULT_LIMIT = 16 * 1024


class HeadLimitedHttpToolsProtocol(HttpToolsProtocol):
    """:class:`HttpToolsProtocol` that refuses request heads over the limit (431, connection closed)."""

    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._head_limit = config.h11_max_incomplete_event_size or _DEFAULT_LIMIT
        self._in_head = False
        #: bytes of whole reads while the head was incomplete; -1: it began during the current read
        #: (llhttp says where a head begins and ends, not at which offset: the first read is not counted)
        self._head_bytes = -1

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._head_bytes = True, -1

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        if self._in_head and self._head_bytes >= 0:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._in_head and not self.transport.is_closing():
            if self._head_bytes < 0:
                self._head_bytes = 0
            elif self._head_bytes > self._head_limit:
                self._refuse_head()

    def _refuse_head(self) -> None:
        self.logger.warning("request head over %d bytes refused", self._head_limit)
        self.transport.write(_head_too_large(self._head_limit))
        self.transport.close()


def _head_too_large(limit: int) -> bytes:
    """The whole 431 response, problem+json from the one error map."""
    response = problems.response_for(HeadTooLarge(
        f"request heads (target and header fields) are limited to {limit} bytes"))
    head = b"".join(name + b": " + value + b"\r\n" for name, value in response.raw_headers)
    return STATUS_LINE[response.status_code] + head + b"connection: close\r\n\r\n" + bytes(response.body)
