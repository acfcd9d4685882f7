"""Where the browser tests look for things, and whether they can run here (no side effects:
conftest.py imports this; ``_lab.py`` turns ``PROBLEMS`` into a skip)."""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
ARTIFACTS = pathlib.Path(os.environ.get("NBT_ARTIFACTS", ROOT / "artifacts"))
CHROMIUM = os.environ.get("NBT_CHROMIUM", "/usr/bin/chromium")
MODE = os.environ.get("NBT_BROWSER_TESTS", "")  # "1": must run, "0": skip, "": run if possible
REQUIRED = MODE == "1"


def problems() -> list[str]:
    """Why the browser tests cannot run here (empty: they can)."""
    found = []
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        found.append(f"no chromium at {CHROMIUM} (apt-get install chromium; ./run.sh test does it)")
    for module in ("playwright", "pytest_playwright", "psutil", "jupyterlab", "notebook",
                   "anywidget"):
        if importlib.util.find_spec(module) is None:
            found.append(f"Python package {module} is missing (pip install -e '.[dev,notebook]')")
    return found


PROBLEMS = problems()


class Timings:
    """Figures the browser tests measure, written to artifacts/browser_timings.json at the end."""

    def __init__(self):
        self.values: dict[str, float] = {}

    def __setitem__(self, key: str, seconds: float) -> None:
        self.values[key] = round(seconds, 3)

    def save(self) -> pathlib.Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / "browser_timings.json"
        path.write_text(json.dumps(self.values, indent=1))
        return path


TIMINGS = Timings()


# Added to every JupyterLab page before the app loads: the arrival time (performance.now()) and
# type of each kernel message, so a test can time the browser from "the widget's model change
# arrived" on. It reads only the message header (JupyterLab's binary v1 websocket protocol, or
# JSON text), before JupyterLab handles the message.
WS_PROBE = """
(() => {
  const Native = window.WebSocket;
  const decoder = new TextDecoder();
  window.__nbtMessages = [];
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (ev) => {
        const t = performance.now();
        const head = typeof ev.data === "string" ? ev.data.slice(0, 2000)
          : ev.data instanceof ArrayBuffer
            ? decoder.decode(new Uint8Array(ev.data, 0, Math.min(2000, ev.data.byteLength)))
            : "";
        const type = /"msg_type":\\s*"(\\w+)"/.exec(head);
        window.__nbtMessages.push({ t, type: type ? type[1] : "?" });
      });
    }
  };
})();
"""
