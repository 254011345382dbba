"""Limits enforced in the HTTP server itself, before the application sees a request.

Daphne hands a request to the ASGI application only once Twisted has received the whole body
(into a temporary file), and then queues all of it as 8 KB `http.request` messages in one go.
Checks in Django or in an ASGI middleware therefore come too late: a 1 GB body had already
been read, and sat in the server's memory. So the limits live in Twisted's request and channel,
which see the body chunk by chunk:

- a declared `Content-Length` over `DESKHAND_MAX_BODY_BYTES` is refused as soon as the headers
  end, and a streamed (chunked) body as soon as it passes the limit; nothing more is kept;
- a body that does not arrive within `DESKHAND_BODY_TIMEOUT_SECONDS` of the headers gets 408;
- a request line longer than Twisted's 16 KB line limit (a huge query string) gets 414, and
  headers over 16 KB in all 431, where Twisted would drop the connection or answer a bare 400;
- Twisted does not parse form bodies itself (it answered malformed multipart with a bare 400);
  Django answers them (415 on the API).

Every refusal is the API's JSON error envelope, followed by a lingering close: the response is
sent, our side of the connection is shut, and whatever the client still sends is read and
dropped for a few seconds before the connection is cut. A client still busy sending its body
then reads the answer instead of a reset connection.

`install()` puts these classes into Daphne. It runs when `config.asgi` is imported, so it holds
for `manage.py serve` and for `daphne config.asgi:application` alike (Daphne builds its HTTP
factory inside `Server.run()`, after importing the application).
"""

from __future__ import annotations

import json

from daphne import server as daphne_server
from daphne.http_protocol import HTTPFactory, WebRequest
from django.conf import settings
from twisted.internet import reactor
from twisted.web.http import HTTPChannel, _GenericHTTPChannelProtocol

# After a refusal, how long the rest of what the client sends is read and dropped.
LINGER_SECONDS = 5.0

_REASONS = {400: "Bad Request", 408: "Request Timeout", 413: "Content Too Large", 414: "URI Too Long"}
_REASONS[431] = "Request Header Fields Too Large"


def refuse(channel: HTTPChannel, status: int, code: str, message: str, details: dict | None = None) -> None:
    """Answer with the JSON error envelope, stop parsing this connection, and close it lingeringly."""
    if getattr(channel, "refused", False):
        return
    channel.refused = True
    body = json.dumps({"code": code, "message": message, "details": details or {}}).encode()
    head = (
        f"HTTP/1.1 {status} {_REASONS[status]}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    transport = channel.transport
    # Everything the client sends from now on is read and dropped, never parsed or kept (the
    # handlers too: the parser may be in the middle of a packet that holds more lines).
    channel.dataReceived = channel.lineReceived = channel.rawDataReceived = lambda data: None
    channel.clearLineBuffer()
    transport.write(head + body)
    # Our side ends once the answer is out (FIN); reading goes on, so the client is not reset mid-upload.
    lose_write = getattr(transport, "loseWriteConnection", None)
    if lose_write is not None:
        lose_write()
        transport.resumeProducing()  # in case Twisted had paused reading
        reactor.callLater(LINGER_SECONDS, transport.abortConnection)
    else:
        transport.loseConnection()


class LimitedRequest(WebRequest):
    """Daphne's request, with the body checked chunk by chunk as it arrives."""

    body_received = 0
    body_timer = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Twisted would parse form bodies into memory and answer malformed multipart with a bare 400.
        self._parsePOSTFormSubmission = False

    def gotLength(self, length):
        """The headers are complete; `length` is the declared Content-Length (None when chunked)."""
        if getattr(self.channel, "refused", False):
            return
        limit = settings.MAX_BODY_BYTES
        if length is not None and length > limit:
            # Twisted answers `Expect: 100-continue` right after this; there is nothing to continue.
            self.requestHeaders.removeHeader(b"Expect")
            self.refuse_too_large(f"The body is {length} bytes; the limit is {limit}.", length=length)
            return
        super().gotLength(length)
        if length != 0:
            timeout = settings.BODY_TIMEOUT_SECONDS
            self.body_timer = reactor.callLater(timeout, self.body_timed_out, timeout)

    def handleContentChunk(self, data):
        if getattr(self.channel, "refused", False):
            return
        self.body_received += len(data)
        if self.body_received > settings.MAX_BODY_BYTES:
            self.refuse_too_large(f"The body exceeds the limit of {settings.MAX_BODY_BYTES} bytes.")
            return
        super().handleContentChunk(data)

    def requestReceived(self, command, path, version):
        self.cancel_body_timer()
        if getattr(self.channel, "refused", False):
            return
        super().requestReceived(command, path, version)

    def connectionLost(self, reason):
        self.cancel_body_timer()
        super().connectionLost(reason)

    def refuse_too_large(self, message: str, **details) -> None:
        self.cancel_body_timer()
        refuse(
            self.channel,
            413,
            "body_too_large",
            message,
            {"field": "body", "limit": settings.MAX_BODY_BYTES, **details},
        )

    def body_timed_out(self, timeout: float) -> None:
        self.body_timer = None
        if self.channel is not None:
            refuse(
                self.channel,
                408,
                "body_timeout",
                f"The request body did not arrive within {timeout:g} s.",
                {"field": "body", "timeoutSeconds": timeout},
            )

    def cancel_body_timer(self) -> None:
        if self.body_timer is not None and self.body_timer.active():
            self.body_timer.cancel()
        self.body_timer = None


class LimitedChannel(HTTPChannel):
    """Twisted's HTTP/1.1 parser, answering its own refusals with the JSON envelope."""

    refused = False

    def lineLengthExceeded(self, line):
        # Twisted's own answer is to drop the connection without a word.
        if getattr(self, "_HTTPChannel__first_line", 0):
            field = "query" if b"?" in line else "path"
            refuse(
                self,
                414,
                "uri_too_long",
                f"The request line is longer than {self.MAX_LENGTH} bytes; send a shorter {field}.",
                {"field": field, "limit": self.MAX_LENGTH},
            )
        else:
            self.refuse_headers()

    def _respondToBadRequestAndDisconnect(self):
        # Twisted's own answer is a bare "400 Bad Request" with no body.
        if self._receivedHeaderSize > self.totalHeadersSize or self._receivedHeaderCount > self.maxHeaders:
            self.refuse_headers()
        else:
            refuse(self, 400, "bad_request", "The request is not valid HTTP/1.1 (request line or headers).")

    def refuse_headers(self) -> None:
        refuse(
            self,
            431,
            "headers_too_large",
            f"The request line and headers exceed {self.totalHeadersSize} bytes or {self.maxHeaders} headers.",
            {"field": "headers", "limit": self.totalHeadersSize},
        )


class LimitedHTTPFactory(HTTPFactory):
    def protocol(self):
        # What Twisted's factory builds, with our channel inside (the wrapper negotiates HTTP/2 when enabled).
        return _GenericHTTPChannelProtocol(LimitedChannel())

    def buildProtocol(self, addr):
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = LimitedRequest
        return protocol


def install() -> None:
    """Make Daphne build its HTTP connections from the classes above."""
    daphne_server.HTTPFactory = LimitedHTTPFactory
