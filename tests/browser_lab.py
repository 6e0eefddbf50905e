"""A real JupyterLab server and Debian's Chromium driven by Playwright, for the browser tests.

The server runs on 127.0.0.1 on a free port with a random token, in a private root, settings
and workspaces folder; its kernels get the environment of ``kernel_env`` (every provider
pointing at the loopback dialect server). Chromium is ``/usr/bin/chromium`` (CI installs it;
``playwright install`` is never used); a missing browser fails the tests, it does not skip them.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
MIME = "application/vnd.jupyter-chat+json"
WAIT_MS = 120_000  # how long a browser test waits for a condition before it fails
TURN = ".jp-OutputArea-output.jp-ChatTurn"


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        raise RuntimeError(
            f"Chromium not found ({path}): apt-get install -y chromium fonts-liberation "
            "(CI does this in .ci/run), or set CHROMIUM_PATH"
        )
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Lab:
    base: str
    token: str
    root: Path
    log: Path
    proc: subprocess.Popen

    def url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.base}{path}{sep}token={self.token}"

    def api(self, path: str) -> Any:
        with urllib.request.urlopen(self.url(path), timeout=10) as r:
            return json.loads(r.read())


def start_lab(tmp: Path, env: dict[str, str]) -> Lab:
    root, settings, ws = tmp / "root", tmp / "settings", tmp / "workspaces"
    user = tmp / "user-settings"  # a theme chosen by a test stays here, not in ~/.jupyter
    for d in (root, settings, ws, user):
        d.mkdir(parents=True, exist_ok=True)
    # no network: no news, no update checks
    (settings / "overrides.json").write_text(
        json.dumps(
            {
                "@jupyterlab/apputils-extension:notification": {
                    "checkForUpdates": False,
                    "fetchNews": "false",
                }
            }
        )
    )
    port, token = free_port(), os.urandom(12).hex()
    log = tmp / "lab.log"
    args = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.workspaces_dir={ws}",
        f"--LabApp.app_settings_dir={settings}",
        f"--LabApp.user_settings_dir={user}",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=",
    ]
    if hasattr(os, "getuid") and os.getuid() == 0:
        args.append("--allow-root")
    with open(log, "w") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=root)
    lab = Lab(f"http://127.0.0.1:{port}", token, root, log, proc)
    deadline = time.monotonic() + 90
    while True:
        try:
            lab.api("/api/status")
            return lab
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                stop_lab(lab)
                raise RuntimeError(
                    "jupyter lab did not start:\n" + log.read_text()[-3000:]
                ) from None
            time.sleep(0.3)


def stop_lab(lab: Lab) -> None:
    lab.proc.terminate()
    try:
        lab.proc.wait(20)
    except subprocess.TimeoutExpired:
        lab.proc.kill()
        lab.proc.wait(5)


def launch_browser(playwright: Any) -> tuple[Any, str]:
    """A persistent Chromium context in a fresh profile folder (removed by the caller)."""
    profile = tempfile.mkdtemp(prefix="jupyter-chat-chromium-")
    context = playwright.chromium.launch_persistent_context(
        profile,
        executable_path=chromium_path(),
        headless=True,
        args=CHROMIUM_ARGS,
        viewport={"width": 1200, "height": 900},
    )
    return context, profile


@dataclass
class Tracker:
    """A loopback HTTP server that records every request (the 'remote' an image would hit)."""

    hits: list[str] = field(default_factory=list)
    port: int = 0

    def start(self) -> Tracker:
        hits = self.hits

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                hits.append(self.path)
                body = bytes.fromhex(  # a 1x1 transparent PNG
                    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
                )
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def write_notebook(path: Path, cells: list[Any], kernel: str = "python3") -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "python"}
    nb.cells = [c if not isinstance(c, str) else nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, path)
    return path


class NotebookPage:
    """One notebook open in JupyterLab, driven through the page and Lab's own API."""

    def __init__(self, page: Any, lab: Lab) -> None:
        # every wait is for a condition; the margin is for a loaded machine (CI shares it)
        page.set_default_timeout(WAIT_MS)
        self.page = page
        self.lab = lab
        self.console: list[str] = []
        self.errors: list[str] = []
        page.on("console", lambda m: self.console.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self, name: str, kernel: bool = True) -> NotebookPage:
        # a workspace of its own: nothing restored from an earlier test's layout
        workspace = "t" + os.urandom(6).hex()
        self.page.goto(self.lab.url(f"/lab/workspaces/{workspace}/tree/{name}"))
        return self._opened(kernel)

    def reload(self) -> NotebookPage:
        """Reload the page: the notebook reconnects to its running kernel."""
        self.page.reload()
        return self._opened(True)

    def _opened(self, kernel: bool) -> NotebookPage:
        self.page.wait_for_function(
            "() => window.jupyterapp && window.jupyterapp.started", timeout=WAIT_MS
        )
        self.page.wait_for_function(
            "() => { const w = window.jupyterapp.shell.currentWidget;"
            " return w && w.content && w.content.widgets && w.content.widgets.length > 0"
            " && w.context.isReady; }",
            timeout=WAIT_MS,
        )
        self.panel = "#" + self.page.evaluate("() => window.jupyterapp.shell.currentWidget.id")
        if kernel:
            self.wait_idle()
            self.page.evaluate(TAP_IOPUB)
        return self

    def wait_idle(self, timeout: float = WAIT_MS) -> None:
        self.page.wait_for_function(
            "() => { const w = window.jupyterapp.shell.currentWidget;"
            " const k = w && w.sessionContext.session && w.sessionContext.session.kernel;"
            " return k && k.status === 'idle' && k.connectionStatus === 'connected'; }",
            timeout=timeout,
        )

    def run(self, index: int, wait: bool = True) -> None:
        """Run cell ``index`` like Shift-Enter would (without moving on); wait for it."""
        self.page.evaluate(
            """async ([index, wait]) => {
                const app = window.jupyterapp;
                const panel = app.shell.currentWidget;
                panel.content.activeCellIndex = index;
                panel.content.deselectAll();
                const done = app.commands.execute('notebook:run-cell');
                if (wait) { await done; }
            }""",
            [index, wait],
        )
        if wait:
            self.wait_cell_done(index)

    def wait_cell_done(self, index: int, timeout: float = WAIT_MS) -> None:
        self.page.wait_for_function(
            """(index) => {
                const panel = window.jupyterapp.shell.currentWidget;
                const cell = panel.content.widgets[index];
                return cell.model.executionCount !== null && !cell.hasClass('jp-mod-running')
                    && cell.promptNode && !cell.promptNode.textContent.includes('*');
            }""",
            arg=index,
            timeout=timeout,
        )

    def wait_chat_comm(self, timeout: float = WAIT_MS) -> None:
        """Until the kernel holds the extension's ``jupyter_chat`` comm (opened after a cell
        that mentions jupyter_chat has run)."""
        self.page.wait_for_function(
            """async () => {
                const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
                const reply = await k.requestCommInfo({target_name: 'jupyter_chat'});
                return Object.keys(reply.content.comms || {}).length > 0;
            }""",
            timeout=timeout,
            polling=200,
        )

    def source(self, index: int) -> str:
        return self.page.evaluate(
            "(i) => window.jupyterapp.shell.currentWidget.content.widgets[i]"
            ".model.sharedModel.getSource()",
            index,
        )

    def cell_count(self) -> int:
        return self.page.evaluate(
            "() => window.jupyterapp.shell.currentWidget.content.widgets.length"
        )

    def outputs(self, index: int) -> list[dict]:
        return self.page.evaluate(
            "(i) => window.jupyterapp.shell.currentWidget.content.widgets[i]"
            ".model.outputs.toJSON()",
            index,
        )

    def turn(self, index: int) -> Any:
        """The chat turn rendered in cell ``index``."""
        return self.cell(index).locator(TURN)

    def cell(self, index: int) -> Any:
        return self.page.locator(f"{self.panel} .jp-Notebook .jp-Cell").nth(index)

    def iopub(self) -> list[dict]:
        """The iopub messages seen by the notebook's kernel connection since it opened."""
        return self.page.evaluate("() => window.__chatTestIopub || []")

    def command(self, command: str, args: dict | None = None) -> Any:
        return self.page.evaluate(
            "([c, a]) => window.jupyterapp.commands.execute(c, a)", [command, args or {}]
        )


# Record every iopub message of the current notebook's kernel (type, parent, size, comm data).
TAP_IOPUB = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const kernel = panel.sessionContext.session.kernel;
    window.__chatTestIopub = [];
    kernel.iopubMessage.connect((_, msg) => {
        const c = msg.content || {};
        window.__chatTestIopub.push({
            type: msg.header.msg_type,
            parent: (msg.parent_header || {}).msg_id || null,
            size: JSON.stringify(c).length,
            comm: msg.header.msg_type === 'comm_msg' ? c.data : null,
            hasChat: !!(c.data && c.data['application/vnd.jupyter-chat+json']),
            markdown: c.data && typeof c.data['text/markdown'] === 'string'
                ? c.data['text/markdown'].length : 0,
        });
    });
}"""


def record_frames(page: Any, selector: str, measure: str) -> Any:
    """From now on, in every frame the page paints: ``measure`` (a JavaScript function of
    the element) of the first element matching ``selector``, where there is one. Returns a
    function giving what was recorded so far."""
    page.evaluate(
        """([selector, measure]) => {
            const of = eval(measure);
            window.chatFrames = [];
            const tick = () => {
                const el = document.querySelector(selector);
                if (el) window.chatFrames.push(of(el));
                requestAnimationFrame(tick);
            };
            requestAnimationFrame(tick);
        }""",
        [selector, measure],
    )
    return lambda: page.evaluate("() => window.chatFrames")


def strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def words(n: int, prefix: str = "w") -> list[str]:
    """``n`` distinct words, ``w00 w01 ...``: partial text is easy to tell from the whole."""
    return [f"{prefix}{i:02d}" for i in range(n)]


def delete_path(lab: Lab, path: str) -> None:
    """DELETE on the server's REST API (a session, a kernel), ignoring failures."""
    import urllib.request

    req = urllib.request.Request(lab.url(path), method="DELETE")
    with contextlib.suppress(OSError):
        urllib.request.urlopen(req, timeout=10).close()


def execute_cells(cells: list[str], root: Path) -> Any:
    """A notebook of these code cells executed by nbclient in ``root`` (no frontend, no
    extension), returned unsaved."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    NotebookClient(nb, timeout=120, resources={"metadata": {"path": str(root)}}).execute()
    return nb


@contextlib.contextmanager
def serve_notebook7(
    root: Path, tmp: Path, name: str = "shared.ipynb", disabled: tuple[str, ...] = ()
) -> Any:
    """A Notebook 7 server on ``root`` (which loads jupyter-chat's prebuilt extension as
    JupyterLab does, unless ``disabled`` names it); yields the URL of notebook ``name`` in it,
    token included."""
    port, token = free_port(), os.urandom(12).hex()
    args = [
        sys.executable, "-m", "notebook", "--no-browser", "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--JupyterNotebookApp.expose_app_in_browser=True",
        f"--JupyterNotebookApp.workspaces_dir={tmp / 'ws7'}",
        f"--JupyterNotebookApp.user_settings_dir={tmp / 'user7'}",
    ]  # fmt: skip
    if hasattr(os, "getuid") and os.getuid() == 0:
        args.append("--allow-root")
    env = dict(os.environ)
    if disabled:
        conf = tmp / "jupyter-config7"
        (conf / "labconfig").mkdir(parents=True, exist_ok=True)
        (conf / "labconfig" / "page_config.json").write_text(
            json.dumps({"disabledExtensions": {n: True for n in disabled}})
        )
        env["JUPYTER_CONFIG_DIR"] = str(conf)
    log = tmp / "notebook7.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=root, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.terminate()
                raise RuntimeError(
                    "Notebook 7 did not start:\n" + log.read_text()[-3000:]
                ) from None
            time.sleep(0.3)
    try:
        yield f"{base}/notebooks/{name}?token={token}"
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
