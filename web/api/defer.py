"""The hand-off between Flask views and the async front end (web/asgi.py).

Long-polls and event streams spend their time waiting, not computing. Under the async
front end, the Flask view still does everything that needs the request context (auth,
rate limit, validation, 404s, the first database read) and then, instead of blocking
a thread, answers with a *plan* that the front end carries out on its event loop.
The plan never leaves the server: it is recognised by the ``X-Otpinbox-Defer`` header
on a response to a request whose WSGI environ the front end marked. Plain WSGI servers
(gunicorn gthread, the test client) never set the marks and get the blocking path.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

DEFER_WAIT = "otpinbox.defer_wait"  # environ mark: the server can wait asynchronously
DEFER_STREAM = "otpinbox.defer_stream"  # environ mark: the server can stream asynchronously
INTERNAL = "otpinbox.internal"  # environ mark: the front end's follow-up read (not rate-limited)
DEFER_HEADER = "X-Otpinbox-Defer"


def defer_response(plan: dict[str, Any], kind: str = "wait") -> Response:
    response = jsonify(plan)
    response.status_code = 202
    response.headers[DEFER_HEADER] = kind
    return response
