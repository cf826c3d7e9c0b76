"""What the playground's tests share: a session whose messages are recorded, and a real
server on 127.0.0.1 at a free port."""

import contextlib
import json
import threading
import time

import pytest

from descent.playground.server import create_app, listening_socket, server_for
from descent.playground.session import Session


class Recorder:
    """The messages a session sends, kept in order; ``wait`` blocks until one fits."""

    def __init__(self):
        self.messages = []
        self.changed = threading.Condition()

    def __call__(self, kind, text):
        with self.changed:
            self.messages.append(json.loads(text))
            self.changed.notify_all()

    def of(self, kind):
        with self.changed:
            return [m for m in self.messages if m["type"] == kind]

    def last(self, kind):
        found = self.of(kind)
        return found[-1] if found else None

    def wait(self, test, timeout=10.0, kind="frame", after=0):
        """The first message of ``kind`` (from index ``after`` on) for which ``test``
        holds."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for message in self.messages[after:]:
                    if message["type"] == kind and test(message):
                        return message
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {kind} message came that fits, in {timeout} s; "
                                         f"the last: {self.messages[-1:]!r}"[:600])
                self.changed.wait(left)

    def mark(self):
        with self.changed:
            return len(self.messages)


class Page:
    """A session as the page drives it: ``send`` a message, ``ask`` for an answer."""

    def __init__(self):
        self.recorder = Recorder()
        self.session = Session(self.recorder)
        self.session.start()
        self.recorder.wait(lambda m: True)  # the first frame: data and network are there

    def send(self, message, settle=True):
        mark = self.recorder.mark()
        future = self.session.submit(message)
        if settle:
            future.result(10)
        return mark

    def configure(self, **settings):
        mark = self.send({"type": "configure", "settings": settings})
        return self.recorder.last("settings")["settings"], mark

    def ask(self, kind, data=None):
        return self.session.request(kind, data).result(20)

    def frame(self):
        return self.recorder.last("frame")

    def paused_at(self):
        """Pause; the epoch it stopped at (its last frame says paused)."""
        mark = self.send({"type": "pause"})
        return self.recorder.wait(lambda m: not m["playing"], after=mark)["epoch"]


@pytest.fixture
def page():
    opened = Page()
    yield opened
    opened.session.close()
    opened.session.join(10)
    assert not opened.session._thread.is_alive()


@contextlib.contextmanager
def served(token):
    """The playground under uvicorn on 127.0.0.1 at a free port, in a thread: yields
    ``host:port``."""
    sock = listening_socket("127.0.0.1", 0)
    server = server_for(create_app(token), sock)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
