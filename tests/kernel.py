"""A real IPython kernel for tests, with every iopub message of a cell collected."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from dialect_server import DIALECTS, DialectServer

# the gateway's header names are configuration (providers.md: D is unidentified)
PATGATEWAY_TOML = """
[providers.patgateway]
auth_header = "X-PAT"
auth_scheme = ""
"""


def env_name(dialect: str) -> str:
    return dialect.upper().replace("-", "_")


def kernel_env(server: DialectServer, config: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith(("_API_KEY", "_BASE_URL")) and not k.startswith("JUPYTER_CHAT_")
    }
    env["JUPYTER_CHAT_CONFIG"] = config
    for dialect, (_p, _h, _pre, key) in DIALECTS.items():
        name = dialect.upper().replace("-", "_")
        env[name + "_BASE_URL"] = server.base_url(dialect)
        if key:
            env[name + "_API_KEY"] = key
    return env


@dataclass
class Ran:
    messages: list[dict] = field(default_factory=list)  # iopub messages of the cell, in order
    reply: dict = field(default_factory=dict)  # the execute_reply content
    stdin_prompts: list[dict] = field(default_factory=list)
    times: list[float] = field(default_factory=list)  # arrival time of each iopub message

    def of(self, *kinds: str) -> list[dict]:
        return [m for m in self.messages if m["msg_type"] in kinds]

    @property
    def displays(self) -> list[dict]:
        return self.of("display_data", "update_display_data")

    @property
    def final(self) -> dict:
        """The content of the last display (data + metadata)."""
        return self.displays[-1]["content"]

    @property
    def error(self) -> dict | None:
        errs = self.of("error")
        return errs[-1]["content"] if errs else None

    @property
    def stdout(self) -> str:
        return "".join(
            m["content"]["text"] for m in self.of("stream") if m["content"]["name"] == "stdout"
        )

    @property
    def stderr(self) -> str:
        return "".join(
            m["content"]["text"] for m in self.of("stream") if m["content"]["name"] == "stderr"
        )


class Kernel:
    def __init__(self, env: dict[str, str], cwd: str) -> None:
        from jupyter_client.manager import start_new_kernel

        self.km, self.kc = start_new_kernel(kernel_name="python3", env=env, cwd=cwd)

    def run(
        self, code: str, cell_id: str | None = None, stdin: str | None = None, timeout: float = 60
    ) -> Ran:
        """Execute ``code`` like a notebook frontend (with a cell id if given) and collect."""
        kc = self.kc
        content = {
            "code": code,
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": stdin is not None,
            "stop_on_error": False,
        }
        metadata = {"cellId": cell_id} if cell_id else {}
        msg = kc.session.msg("execute_request", content, metadata=metadata)
        kc.shell_channel.send(msg)
        msg_id = msg["header"]["msg_id"]
        ran = Ran()
        end = time.monotonic() + timeout
        while True:
            if stdin is not None:
                try:
                    req = kc.get_stdin_msg(timeout=0.01)
                    ran.stdin_prompts.append(req["content"])
                    kc.input(stdin)
                except Exception:
                    pass
            try:
                m = kc.get_iopub_msg(timeout=0.05)
            except Exception:
                if time.monotonic() > end:
                    raise TimeoutError(f"cell did not finish: {code[:60]!r}") from None
                continue
            if m["parent_header"].get("msg_id") != msg_id:
                continue
            if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                break
            ran.messages.append(m)
            ran.times.append(time.monotonic())
        while True:
            reply = kc.get_shell_msg(timeout=timeout)
            if reply["parent_header"].get("msg_id") == msg_id:
                ran.reply = reply["content"]
                return ran

    def start(self, code: str) -> str:
        """Execute without waiting; returns the msg id."""
        return self.kc.execute(code, stop_on_error=False)

    def error_of(self, msg_id: str, timeout: float = 30) -> dict | None:
        """The error content of the cell ``msg_id`` started (None if it had none), once the
        kernel is idle again."""
        error = None
        while True:
            m = self.kc.get_iopub_msg(timeout=timeout)
            if m["parent_header"].get("msg_id") != msg_id:
                continue
            if m["msg_type"] == "error":
                error = m["content"]
            if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                return error

    def interrupted(self, code: str, after: float) -> tuple[dict, list[dict], list[dict]]:
        """Start ``code``, interrupt the kernel ``after`` seconds later; returns the execute
        reply's content, the cell's error messages and its displays (and updates)."""
        msg_id = self.start(code)
        time.sleep(after)
        self.km.interrupt_kernel()
        errors, displays = [], []
        while True:
            m = self.kc.get_iopub_msg(timeout=30)
            if m["parent_header"].get("msg_id") != msg_id:
                continue
            if m["msg_type"] in ("display_data", "update_display_data"):
                displays.append(m["content"])
            if m["msg_type"] == "error":
                errors.append(m["content"])
            if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                break
        reply = self.kc.get_shell_msg(timeout=30)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = self.kc.get_shell_msg(timeout=30)
        return reply["content"], errors, displays

    def open_extension_comm(self) -> str:
        """Open the ``jupyter_chat`` comm as the JupyterLab extension does when it connects
        (after ``%load_ext``); returns the comm id."""
        import uuid

        comm_id = uuid.uuid4().hex
        msg = self.kc.session.msg(
            "comm_open",
            {
                "comm_id": comm_id,
                "target_name": "jupyter_chat",
                "data": {"type": "hello", "version": 1},
            },
        )
        self.kc.shell_channel.send(msg)
        self.run("pass")  # handled before the next cell
        return comm_id

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def wire_size(messages: list[dict[str, Any]]) -> int:
    """Bytes of the display messages' content as JSON (what goes to the browser)."""
    import json

    return sum(len(json.dumps(m["content"])) for m in messages)
