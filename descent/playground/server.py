"""The playground's web server: a thin face over ``Session`` (no maths here).

Starlette serves the page (plain HTML, CSS and ES modules from ``static/``) and one
WebSocket per open page, over which the page sends commands and the session sends
frames; three HTTP routes carry files: a CSV or model upload, a model download, the
exports. Safe by default:

- it listens on 127.0.0.1 unless told otherwise;
- every route but the static files needs the run's secret token (in the URL the
  command prints), compared in constant time;
- the Host header must name this machine (no DNS rebinding), and a WebSocket or upload
  must come from a page of this very server (its Origin);
- messages, uploads and the number of open pages are limited, and every setting is
  checked by ``descent.playground.settings`` before it reaches the engine;
- no file is read or written but the page's own: uploads are parsed in memory, a model
  is saved to a private temporary folder and handed to the browser.
"""

import asyncio
import hmac
import json
import secrets
import socket
import sys
import webbrowser
from pathlib import Path
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from descent.errors import DescentError, DescentValueError
from descent.playground.commands import MAX_MESSAGE
from descent.playground.session import Session
from descent.playground.settings import DEFAULTS, UPLOAD_BYTES, choices

STATIC = Path(__file__).resolve().parent / "static"
MAX_SESSIONS = 4  # open pages at once: each trains on its own thread
ANSWER_SECONDS = 30  # the longest an upload or a download waits for its session
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
                               "connect-src 'self'; object-src 'none'; base-uri 'none'; "
                               "frame-ancestors 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_FORBIDDEN = ("<!DOCTYPE html><title>descent playground</title><p>This address needs the "
              "playground's token: open the URL that <code>descent playground</code> "
              "printed.</p>")
_DOWNLOADS = {"spec": ("playground-spec.json", "application/json"),
              "python": ("playground.py", "text/x-python; charset=utf-8")}


def create_app(token, allowed_hosts=LOCAL_HOSTS, frame_rate=None):
    """The Starlette application; ``token`` is the secret the page's URL carries,
    ``allowed_hosts`` the names the Host header may give (``["*"]``: any)."""
    sessions = {}

    def token_ok(given):
        return isinstance(given, str) and hmac.compare_digest(given.encode(), token.encode())

    def same_origin(headers):
        """The request comes from a page this server served: its Origin is this host."""
        origin, host = headers.get("origin"), headers.get("host")
        if not origin or not host:
            return False
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and parts.netloc == host

    def session_of(request):
        if not token_ok(request.headers.get("x-descent-token")
                        or request.query_params.get("token")):
            return None, JSONResponse({"error": "the playground's token is missing or "
                                                "wrong"}, 403, headers=_HEADERS)
        if request.method == "POST" and not same_origin(request.headers):
            return None, JSONResponse({"error": "uploads come from the playground's own page"},
                                      403, headers=_HEADERS)
        session = sessions.get(request.query_params.get("session", ""))
        if session is None:
            return None, JSONResponse({"error": "no such page: reload the playground"}, 404,
                                      headers=_HEADERS)
        return session, None

    async def answer(session, kind, data=None):
        try:
            return await asyncio.wait_for(asyncio.wrap_future(session.request(kind, data)),
                                          ANSWER_SECONDS), None
        except DescentError as error:
            return None, JSONResponse({"error": str(error)}, 400, headers=_HEADERS)
        except asyncio.TimeoutError:
            return None, JSONResponse({"error": "the page's session did not answer: reload "
                                                "the playground"}, 504, headers=_HEADERS)

    async def index(request):
        if not token_ok(request.query_params.get("token")):
            return HTMLResponse(_FORBIDDEN, 403, headers=_HEADERS)
        return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"),
                            headers=_HEADERS)

    async def upload(request):
        session, refusal = session_of(request)
        if refusal:
            return refusal
        body, refusal = await _body(request, UPLOAD_BYTES)
        if refusal:
            return refusal
        kind = "load" if request.url.path.endswith("/model") else "upload"
        result, refusal = await answer(session, kind, body)
        return refusal or JSONResponse({"ok": True, **(result or {})}, headers=_HEADERS)

    async def download_model(request):
        session, refusal = session_of(request)
        if refusal:
            return refusal
        data, refusal = await answer(session, "save")
        return refusal or Response(data, media_type="application/octet-stream", headers={
            **_HEADERS, "Content-Disposition": 'attachment; filename="playground.descent"'})

    async def export(request):
        session, refusal = session_of(request)
        if refusal:
            return refusal
        what = request.path_params["what"]
        if what not in _DOWNLOADS:
            return JSONResponse({"error": f"exports are {', '.join(_DOWNLOADS)}"}, 404,
                                headers=_HEADERS)
        text, refusal = await answer(session, what)
        name, media = _DOWNLOADS[what]
        return refusal or Response(text, media_type=media, headers={
            **_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'})

    async def websocket(ws):
        if not token_ok(ws.query_params.get("token")) or not same_origin(ws.headers):
            await ws.close(code=1008)  # policy violation: refused before the handshake
            return
        if len(sessions) >= MAX_SESSIONS:
            await ws.close(code=1013)  # try again later
            return
        await ws.accept()
        loop = asyncio.get_running_loop()
        outbox = asyncio.Queue()

        def post(kind, text):  # from the session's worker thread
            try:
                loop.call_soon_threadsafe(outbox.put_nowait, (kind, text))
            except RuntimeError:  # the server is shutting down
                pass

        session = Session(post, **({} if frame_rate is None else {"frame_rate": frame_rate}))
        sessions[session.id] = session
        sender = asyncio.create_task(_send(ws, outbox))
        try:
            await ws.send_text(json.dumps({"type": "hello", "session": session.id,
                                           "choices": choices(), "defaults": DEFAULTS}))
            session.start()
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                try:
                    if text is None or len(text) > MAX_MESSAGE:
                        raise ValueError(f"send JSON text of at most {MAX_MESSAGE} characters")
                    session.submit(json.loads(text))
                except (ValueError, DescentError) as error:
                    post("error", json.dumps({"type": "error", "message": str(error)}))
        finally:
            sender.cancel()
            sessions.pop(session.id, None)
            session.close()

    app = Starlette(
        routes=[Route("/", index), WebSocketRoute("/ws", websocket),
                Route("/api/upload", upload, methods=["POST"]),
                Route("/api/model", upload, methods=["POST"]),
                Route("/api/model", download_model, methods=["GET"]),
                Route("/api/export/{what}", export, methods=["GET"]),
                Mount("/static", StaticFiles(directory=STATIC), name="static")],
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts),
                               www_redirect=False)])
    app.state.sessions = sessions
    return app


async def _body(request, limit):
    """The request's body, or a 413 refusal once it passes ``limit`` bytes."""
    too_large = JSONResponse({"error": f"the file is larger than {limit:,} bytes"}, 413,
                             headers=_HEADERS)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None, too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None, too_large
        chunks.append(chunk)
    return b"".join(chunks), None


async def _send(ws, outbox):
    """Send the session's messages in order; of the frames waiting, only the newest."""
    while True:
        waiting = [await outbox.get()]
        while not outbox.empty():
            waiting.append(outbox.get_nowait())
        newest = max((i for i, (kind, _) in enumerate(waiting) if kind == "frame"),
                     default=None)
        for index, (kind, text) in enumerate(waiting):
            if kind != "frame" or index == newest:
                await ws.send_text(text)


def listening_socket(host, port):
    """A socket bound to ``host``:``port`` (0: a free port) and listening."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(64)
    except OSError as error:
        sock.close()
        raise DescentValueError(f"cannot listen on {host} port {port}: "
                                f"{error.strerror or error}") from None
    sock.setblocking(False)
    return sock


def server_for(app, sock):
    """A uvicorn server for ``app`` on ``sock``: WebSockets by the websockets package,
    small messages, quiet logs."""
    import uvicorn

    config = uvicorn.Config(app, loop="asyncio", http="h11", ws="websockets-sansio",
                            ws_max_size=MAX_MESSAGE * 2, ws_per_message_deflate=False,
                            lifespan="off", log_level="warning", access_log=False,
                            timeout_graceful_shutdown=2)
    return uvicorn.Server(config)


def serve(host="127.0.0.1", port=0, open_browser=True, out=None):
    """Run the playground until interrupted: print its URL (with a fresh token) and open
    it in the browser."""
    out = out or sys.stdout
    token = secrets.token_urlsafe(18)
    sock = listening_socket(host, port)
    port = sock.getsockname()[1]
    everywhere = host in ("0.0.0.0", "::", "")
    shown = "127.0.0.1" if everywhere else f"[{host}]" if ":" in host else host
    # (Starlette's Host check cannot read an IPv6 address: there the token and the Origin
    # check guard alone)
    hosts = ["*"] if everywhere or ":" in host else sorted({host, *LOCAL_HOSTS})
    url = f"http://{shown}:{port}/?token={token}"
    server = server_for(create_app(token, hosts), sock)
    out.write(f"descent playground: {url}\n")
    if everywhere:
        out.write("descent playground: listening on every network interface; anyone with "
                  "the URL can use it\n")
    out.write("Press Ctrl-C to stop.\n")
    out.flush()
    if open_browser:
        webbrowser.open(url)
    server.run(sockets=[sock])
    return url
