"""The server: the token, the Host and Origin checks, the limits on messages and uploads,
the files it hands out, the update rate a page receives, and the command that starts it."""

import json
import os
import re
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from websockets.sync.client import connect

import descent
from descent.playground.server import MAX_SESSIONS, create_app, listening_socket
from tests.playground.conftest import served

TOKEN = "a-test-token"
BASE = "http://127.0.0.1"
ORIGIN = {"origin": BASE}
PAGE = {"host": "127.0.0.1", **ORIGIN}  # (the test client's WebSockets name no host)


@pytest.fixture
def client():
    with TestClient(create_app(TOKEN), base_url=BASE) as test_client:
        yield test_client


def _hello(ws):
    hello = json.loads(ws.receive_text())
    assert hello["type"] == "hello"
    return hello["session"]


def _until(ws, kind):
    while True:
        message = json.loads(ws.receive_text())
        if message["type"] == kind:
            return message


def test_the_page_needs_the_token(client):
    assert client.get("/").status_code == 403
    assert client.get("/?token=wrong").status_code == 403
    page = client.get(f"/?token={TOKEN}")
    assert page.status_code == 200 and 'data-testid="heatmap"' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/static/js/main.js").status_code == 200


def test_a_foreign_host_name_is_refused(client):
    """DNS rebinding: a page of evil.example whose name now points at 127.0.0.1."""
    refused = client.get(f"/?token={TOKEN}", headers={"host": "evil.example"})
    assert refused.status_code == 400


@pytest.mark.parametrize("path, headers", [
    ("/ws", PAGE),  # no token
    ("/ws?token=wrong", PAGE),
    (f"/ws?token={TOKEN}", {"host": "127.0.0.1"}),  # no Origin
    (f"/ws?token={TOKEN}", {"host": "127.0.0.1", "origin": "http://evil.example"}),
    (f"/ws?token={TOKEN}", {"host": "127.0.0.1", "origin": "http://127.0.0.1:9999"}),
])
def test_the_websocket_needs_the_token_and_the_pages_own_origin(client, path, headers):
    with pytest.raises(WebSocketDisconnect) as refused:
        with client.websocket_connect(path, headers=headers):
            pass
    assert refused.value.code == 1008


def test_commands_flow_and_bad_ones_are_answered_with_an_error(client):
    with client.websocket_connect(f"/ws?token={TOKEN}", headers=PAGE) as ws:
        _hello(ws)
        ws.send_text("not json")
        assert "Expecting value" in _until(ws, "error")["message"]
        ws.send_text("x" * 70_000)
        assert "at most 65536 characters" in _until(ws, "error")["message"]
        ws.send_text(json.dumps({"type": "configure", "settings": {"hidden": [1000]}}))
        assert "hidden[0] must be a whole number" in _until(ws, "error")["message"]
        ws.send_text(json.dumps({"type": "step"}))
        frame = _until(ws, "frame")
        while frame["epoch"] != 1:
            frame = _until(ws, "frame")
        assert frame["metrics"]["loss"] is not None


def test_open_pages_are_limited(client):
    opened = []
    try:
        for _ in range(MAX_SESSIONS):
            ws = client.websocket_connect(f"/ws?token={TOKEN}", headers=PAGE).__enter__()
            _hello(ws)
            opened.append(ws)
        with pytest.raises(WebSocketDisconnect) as refused:
            with client.websocket_connect(f"/ws?token={TOKEN}", headers=PAGE):
                pass
        assert refused.value.code == 1013
    finally:
        for ws in opened:
            ws.__exit__(None, None, None)


def test_uploads_are_checked_and_limited(client):
    with client.websocket_connect(f"/ws?token={TOKEN}", headers=PAGE) as ws:
        session = _hello(ws)
        url = f"/api/upload?session={session}"
        token = {"x-descent-token": TOKEN, **ORIGIN}
        assert client.post(url, content=b"a,b,c\n1,2,0\n", headers=ORIGIN).status_code == 403
        assert client.post(url, content=b"a,b,c\n1,2,0\n",
                           headers={"x-descent-token": TOKEN}).status_code == 403  # no Origin
        assert client.post("/api/upload?session=nope", content=b"",
                           headers=token).status_code == 404
        huge = client.post(url, content=b"1,2,3\n" * 200_000, headers=token)
        assert huge.status_code == 413 and "larger than 1,048,576 bytes" in huge.json()["error"]
        ragged = client.post(url, content=b"a,b,c\n1,2\n", headers=token)
        assert ragged.status_code == 400 and "row 2 has 2 cells" in ragged.json()["error"]
        rows = "".join(f"{x},{y},{int(x > y)}\n" for x, y in
                       np.random.default_rng(1).normal(size=(60, 2)))
        fine = client.post(url, content=("x,y,label\n" + rows).encode(), headers=token)
        assert fine.status_code == 200 and fine.json()["picked"]["label"] == "label"
        while _until(ws, "settings")["settings"]["dataset"] != "csv":
            pass  # (the first settings are the defaults)


def test_the_model_download_loads_with_descent_load(client, tmp_path):
    with client.websocket_connect(f"/ws?token={TOKEN}", headers=PAGE) as ws:
        session = _hello(ws)
        assert client.get(f"/api/model?session={session}").status_code == 403
        saved = client.get(f"/api/model?session={session}&token={TOKEN}")
        assert saved.status_code == 200
        assert 'filename="playground.descent"' in saved.headers["content-disposition"]
        path = tmp_path / "page.descent"
        path.write_bytes(saved.content)
        assert descent.load(path).metadata["playground"]["features"] == ["x1", "x2"]
        loaded = client.post(f"/api/model?session={session}", content=saved.content,
                             headers={"x-descent-token": TOKEN, **ORIGIN})
        assert loaded.status_code == 200
        foreign = client.post(f"/api/model?session={session}", content=b"#!/bin/sh\n",
                              headers={"x-descent-token": TOKEN, **ORIGIN})
        assert foreign.status_code == 400
        spec = client.get(f"/api/export/spec?session={session}&token={TOKEN}")
        assert spec.status_code == 200 and json.loads(spec.text)["layers"] == [2, 4, 2, 2]
        script = client.get(f"/api/export/python?session={session}&token={TOKEN}")
        assert "descent.train(" in script.text
        assert client.get(f"/api/export/passwd?session={session}&token={TOKEN}") \
            .status_code == 404


@pytest.fixture
def live():
    """The playground under uvicorn on 127.0.0.1 at a free port, in a thread."""
    with served(TOKEN) as where:
        yield where


def test_a_page_receives_at_least_20_frames_a_second_for_2_8_8_1_on_500_points(live):
    """The update rate the page gets while a 2-8-8-1 network trains on 500 points (250
    train, 250 test, mini-batches of 10, two epochs a frame): the frames counted over
    three seconds at the WebSocket's far end."""
    with connect(f"ws://{live}/ws?token={TOKEN}", origin=f"http://{live}",
                 max_size=2 ** 22) as ws:
        json.loads(ws.recv())
        ws.send(json.dumps({"type": "configure", "settings": {
            "dataset": "spiral", "points": 500, "hidden": [8, 8], "activations": ["tanh"] * 2,
            "dropout": [0.0, 0.0], "loss": "mse", "speed": 2}}))
        network = None
        while network is None or network["sizes"] != [2, 8, 8, 1]:
            message = json.loads(ws.recv())
            network = message if message["type"] == "network" else network
        ws.send(json.dumps({"type": "play"}))
        frames, start, epochs = 0, None, []
        while start is None or time.perf_counter() - start < 3.0:
            message = json.loads(ws.recv(timeout=10))
            assert message["type"] != "error", message
            if message["type"] == "frame" and message["playing"]:
                if start is None:
                    start = time.perf_counter()
                    continue
                frames += 1
                epochs.append(message["epoch"])
        rate = frames / (time.perf_counter() - start)
        ws.send(json.dumps({"type": "pause"}))
    print(f"\nplayground: {rate:.1f} frames/s, {(epochs[-1] - epochs[0]) / 3:.0f} epochs/s "
          "for 2-8-8-1 on 500 points")
    assert rate >= 20


def test_the_command_prints_its_url_and_serves_it():
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-m", "descent.cli", "playground",
                                "--no-browser", "--port", "0"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/\?token=[\w-]+", line).group(0)
        with urllib.request.urlopen(url, timeout=10) as response:
            assert b'data-testid="heatmap"' in response.read()
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(url.split("?")[0], timeout=10)
    finally:
        process.terminate()
        out, err = process.communicate(timeout=15)
    assert "stopped" in out and process.returncode == 0, err


def test_the_command_refuses_what_it_cannot_listen_on(capsys):
    from descent.cli import main

    assert main(["playground", "--port", "70000", "--no-browser"]) == 2
    assert "--port must be from 0 to 65535" in capsys.readouterr().err
    with listening_socket("127.0.0.1", 0) as taken:
        port = str(taken.getsockname()[1])
        assert main(["playground", "--port", port, "--no-browser"]) == 2
    assert f"cannot listen on 127.0.0.1 port {port}" in capsys.readouterr().err
