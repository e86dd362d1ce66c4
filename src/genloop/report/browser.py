"""Render a report in headless Chromium and check it, over the DevTools protocol.

Chromium is driven through ``--remote-debugging-pipe`` (file descriptors 3 and 4,
NUL-separated JSON messages), so nothing but the standard library and a ``chromium``
binary is needed: no network port, no browser download. :func:`check_page` loads a
file, collects console errors and uncaught exceptions, measures every ``<img>``, finds
where chosen elements lie on the page and takes a screenshot.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from genloop.core.errors import GenloopError

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--remote-debugging-pipe",
]
IMAGES_JS = (
    "JSON.stringify(Array.from(document.images).map(i => [i.naturalWidth, i.naturalHeight, i.alt]))"
)
# The page-relative box of the first element matching a selector (null when none does);
# the page is not scrolled, so viewport and page coordinates coincide.
BOX_JS = """JSON.stringify((() => {
  const e = document.querySelector(%s);
  if (e === null) return null;
  const r = e.getBoundingClientRect();
  return [r.top + window.scrollY, r.left + window.scrollX, r.width, r.height];
})())"""


def find_chromium() -> str | None:
    """The path of a Chromium or Chrome binary, or ``None``."""
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageCheck:
    """What a page did when loaded.

    Attributes
    ----------
    errors : list of str
        Console errors, uncaught exceptions and error log entries.
    images : list of (int, int, str)
        ``(naturalWidth, naturalHeight, alt)`` of every ``<img>``.
    title : str
    dialogs : list of str
        Messages of any ``alert``/``confirm`` the page opened (a report has none).
    text : str
        The page's visible text (``document.body.innerText``).
    boxes : dict of str to (float, float, float, float) or None
        Per CSS selector asked for: ``(top, left, width, height)`` in CSS pixels from the
        top-left corner of the page, of the first element it matches (``None``: no match).
    """

    errors: list[str] = field(default_factory=list)
    images: list[tuple[int, int, str]] = field(default_factory=list)
    title: str = ""
    dialogs: list[str] = field(default_factory=list)
    text: str = ""
    boxes: dict[str, tuple[float, float, float, float] | None] = field(default_factory=dict)


class _Pipe:
    """A minimal DevTools-protocol client over Chromium's debugging pipe."""

    def __init__(self, binary: str, profile: str):
        import fcntl

        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        # Move the child's ends above 4 so that wiring them onto 3 and 4 cannot clobber.
        high_r = fcntl.fcntl(to_child_r, fcntl.F_DUPFD_CLOEXEC, 5)
        high_w = fcntl.fcntl(from_child_w, fcntl.F_DUPFD_CLOEXEC, 5)
        os.close(to_child_r)
        os.close(from_child_w)

        def wire():  # in the child: the pipe ends Chromium expects on fds 3 and 4
            os.dup2(high_r, 3)  # dup2 clears close-on-exec: these two survive the exec
            os.dup2(high_w, 4)

        # close_fds=False: with pass_fds, fds 3 and 4 would be checked before `wire`
        # runs, when they may not exist. Python's own fds are not inheritable (PEP 446),
        # so nothing else leaks into the browser.
        self.process = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            close_fds=False,
            preexec_fn=wire,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(high_r)
        os.close(high_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []

    def send(
        self,
        method: str,
        params: dict | None = None,
        session: str | None = None,
        timeout: float = 30.0,
    ) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise GenloopError(f"chromium: {method} failed: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30.0) -> dict:
        for event in self.events:
            if event.get("method") == method:
                return event
        deadline = time.monotonic() + timeout
        while True:
            event = self._read(deadline)
            self.events.append(event)
            if event.get("method") == method:
                return event

    def _read(self, deadline: float) -> dict:
        import select

        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_child], [], [], left)[0]:
                raise GenloopError("chromium did not answer in time")
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise GenloopError("chromium closed its debugging pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except GenloopError:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_child)
        os.close(self._from_child)


def check_page(
    html_path: str | Path,
    screenshot: str | Path | None = None,
    width: int = 1280,
    binary: str | None = None,
    height: int = 900,
    selectors: tuple[str, ...] = (),
    full_page: bool = True,
) -> PageCheck:
    """Load ``html_path`` in headless Chromium; report errors, images and a screenshot.

    Parameters
    ----------
    html_path : path
        The page (opened as a ``file://`` URL).
    screenshot : path, optional
        Where to write a full-page PNG screenshot.
    width : int
        Viewport width in CSS pixels.
    binary : str, optional
        The browser (default: :func:`find_chromium`).
    height : int
        Viewport height in CSS pixels: what a reader sees before scrolling.
    selectors : tuple of str
        CSS selectors whose first match to measure (:attr:`PageCheck.boxes`), e.g. to
        check that something lies within the first screen (``top < height``).
    full_page : bool
        Screenshot the whole page (default) or only the first screen.

    Returns
    -------
    PageCheck
    """
    binary = binary or find_chromium()
    if binary is None:
        raise GenloopError("no chromium binary found (apt-get install chromium)")
    url = Path(html_path).resolve().as_uri()
    with tempfile.TemporaryDirectory(prefix="genloop-chromium-") as profile:
        pipe = _Pipe(binary, profile)
        try:
            target = pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
                "sessionId"
            ]
            for domain in ("Page", "Runtime", "Log"):
                pipe.send(f"{domain}.enable", session=session)
            pipe.send(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
                session=session,
            )
            pipe.send("Page.navigate", {"url": url}, session=session)
            pipe.wait_for("Page.loadEventFired")
            result = pipe.send(
                "Runtime.evaluate",
                {"expression": IMAGES_JS, "returnByValue": True},
                session=session,
            )
            images = [tuple(i) for i in json.loads(result["result"]["value"])]
            title, text = (
                pipe.send(
                    "Runtime.evaluate",
                    {"expression": expression, "returnByValue": True},
                    session=session,
                )["result"].get("value", "")
                for expression in ("document.title", "document.body.innerText")
            )
            # Measured before the screenshot: a full-page capture resizes the viewport.
            boxes = {}
            for selector in selectors:
                box = pipe.send(
                    "Runtime.evaluate",
                    {"expression": BOX_JS % json.dumps(selector), "returnByValue": True},
                    session=session,
                )["result"].get("value")
                found = json.loads(box) if box else None
                boxes[selector] = None if found is None else tuple(found)
            if screenshot is not None:
                shot = pipe.send(
                    "Page.captureScreenshot",
                    {"format": "png", "captureBeyondViewport": full_page},
                    session=session,
                    timeout=60,
                )
                from genloop.core.run_dir import atomic_write_bytes

                atomic_write_bytes(Path(screenshot), base64.b64decode(shot["data"]))
        finally:
            pipe.close()
    return PageCheck(
        errors=_errors(pipe.events),
        images=images,
        title=title,
        text=text,
        boxes=boxes,
        dialogs=[
            e["params"].get("message", "")
            for e in pipe.events
            if e.get("method") == "Page.javascriptDialogOpening"
        ],
    )


def _errors(events: list[dict]) -> list[str]:
    errors = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            errors.append(
                " ".join(
                    str(a.get("value", a.get("description", ""))) for a in params.get("args", [])
                )
            )
        elif method == "Runtime.exceptionThrown":
            errors.append(params.get("exceptionDetails", {}).get("text", "exception"))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            errors.append(params["entry"].get("text", ""))
    return errors
