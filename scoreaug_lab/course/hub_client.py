"""Talking to a class hub as its users do, over HTTP only: JupyterHub's REST API (start a server, make a user's
token), the user's Jupyter server (contents, nbgrader's assignment list and Validate) and its kernels (a notebook's
code cells run over the kernel's websocket, the way JupyterLab runs them). The CI test and benchmarks/hub_class.py
drive a class with it.

    hub = HubAPI(url, service_token)
    server = hub.start_server("alice")               # waits until it answers; a UserServer with alice's token
    report = server.run_notebook("walkthrough/00_quickstart.ipynb")   # seconds to the first figure, errors
"""
from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field

CONNECT_S = 300.0
FIGURE_TYPES = ("image/png", "image/svg+xml", "application/vnd.plotly.v1+json",
                "application/vnd.jupyter.widget-view+json")


def _request(url: str, token: str, method: str = "GET", body=None, timeout: float = CONNECT_S):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as reply:
            text = reply.read()
    except urllib.error.HTTPError as err:
        raise OSError(f"{method} {url}: HTTP {err.code} {err.read()[:300]!r}") from None
    return json.loads(text) if text.strip() else None


class HubAPI:
    def __init__(self, url: str, token: str):
        self.url, self.token = url.rstrip("/"), token

    def call(self, method: str, path: str, body=None):
        return _request(f"{self.url}/hub/api{path}", self.token, method, body)

    def start_server(self, name: str, timeout: float = 300) -> "UserServer":
        """Start `name`'s server (if it is not running) and wait until it is ready."""
        if not self.call("GET", f"/users/{name}")["servers"].get("", {}).get("ready"):
            try:
                self.call("POST", f"/users/{name}/server")
            except OSError as err:
                if "HTTP 400" not in str(err):   # 400: already starting
                    raise
        deadline = time.monotonic() + timeout
        while not self.call("GET", f"/users/{name}")["servers"].get("", {}).get("ready"):
            if time.monotonic() > deadline:
                raise OSError(f"{name}'s server was not ready within {timeout:.0f} s")
            time.sleep(0.5)
        token = self.call("POST", f"/users/{name}/tokens", {"note": "scoreaug class", "expires_in": 3600})["token"]
        return UserServer(self.url, name, token)

    def stop_server(self, name: str) -> None:
        self.call("DELETE", f"/users/{name}/server")


@dataclass
class NotebookRun:
    seconds: float = 0.0
    first_figure: float | None = None         # seconds from the first cell sent to the first figure shown
    errors: list = field(default_factory=list)
    cells: int = 0


class UserServer:
    """One user's Jupyter server behind the hub, with that user's token."""

    def __init__(self, hub_url: str, name: str, token: str):
        self.base = f"{hub_url}/user/{name}"
        self.name, self.token = name, token

    def call(self, method: str, path: str, body=None, timeout: float = 600, **query):
        suffix = f"?{urllib.parse.urlencode(query)}" if query else ""
        return _request(f"{self.base}{path}{suffix}", self.token, method, body, timeout)

    # --- files and nbgrader's student side --------------------------------------------------------------------
    def read_notebook(self, path: str) -> dict:
        return self.call("GET", f"/api/contents/{path}", content=1)["content"]

    def write_notebook(self, path: str, notebook: dict) -> None:
        self.call("PUT", f"/api/contents/{path}", {"type": "notebook", "format": "json", "content": notebook})

    def assignments(self, course: str) -> list:
        reply = self.call("GET", "/assignments", course_id=course)
        if not reply.get("success", True):
            raise OSError(f"{self.name}'s assignment list failed: {reply}")
        return reply["value"]

    def assignment_action(self, action: str, course: str, assignment: str):
        """fetch, submit or fetch_feedback, as the Assignments tab does it."""
        reply = self.call("POST", f"/assignments/{action}", {"course_id": course, "assignment_id": assignment})
        if isinstance(reply, dict) and not reply.get("success", True):
            raise OSError(f"{self.name}: {action} {assignment} failed: {reply.get('value') or reply}")
        return reply

    def validate(self, path: str) -> dict:
        """The Validate button: nbgrader's validation of a notebook in the user's folder."""
        return self.call("POST", "/assignments/validate", {"path": path})

    # --- kernels -------------------------------------------------------------------------------------------------
    def run_notebook(self, path: str, timeout: float = 900) -> NotebookRun:
        """Run a notebook's code cells in a new kernel of a session on `path` (its folder is the working folder)."""
        session = self.call("POST", "/api/sessions", {"path": path, "type": "notebook", "name": path,
                                                      "kernel": {"name": "python3"}})
        try:
            cells = [c for c in self.read_notebook(path)["cells"] if c["cell_type"] == "code"]
            return asyncio.run(asyncio.wait_for(self._run_cells(session["kernel"]["id"], cells), timeout))
        finally:
            self.call("DELETE", f"/api/sessions/{session['id']}")

    async def _run_cells(self, kernel_id: str, cells: list) -> NotebookRun:
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        url = self.base.replace("http", "ws", 1) + f"/api/kernels/{kernel_id}/channels?session_id={uuid.uuid4().hex}"
        request = HTTPRequest(url, headers={"Authorization": f"token {self.token}"}, connect_timeout=CONNECT_S,
                              request_timeout=CONNECT_S)      # a class-sized load makes a busy server slow to answer
        socket = await websocket_connect(request, max_message_size=256 * 2 ** 20)
        run, start = NotebookRun(cells=len(cells)), time.monotonic()
        try:
            for cell in cells:
                await self._execute(socket, "".join(cell["source"]), run, start)
        finally:
            socket.close()
        run.seconds = time.monotonic() - start
        return run

    async def _execute(self, socket, code: str, run: NotebookRun, start: float) -> None:
        msg_id = uuid.uuid4().hex
        socket.write_message(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": self.name, "session": msg_id,
                       "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}))
        replied = idle = False
        while not (replied and idle):
            raw = await socket.read_message()
            if raw is None:
                raise OSError(f"{self.name}'s kernel connection closed (the kernel died?)")
            if isinstance(raw, bytes):
                continue
            msg = json.loads(raw)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind in ("display_data", "execute_result") and run.first_figure is None \
                    and any(t in content.get("data", {}) for t in FIGURE_TYPES):
                run.first_figure = time.monotonic() - start
            elif kind == "error":
                run.errors.append(f"{content['ename']}: {content['evalue']}"[:300])
            elif kind == "execute_reply":
                replied = True
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True


__all__ = ["HubAPI", "NotebookRun", "UserServer", "FIGURE_TYPES"]
