"""``%%chat`` and ``%chat``: parse here, hand off at once to the session, show through the
display (cell.py: the cell body; commands.py: the subcommands; options.py: the parser).

Loading registers the magics, two event hooks and the comm target of the JupyterLab extension,
nothing else: the client, httpx and pydantic load with the first request.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class

from .._secrets import clip
from ..errors import ChatError, calm_interrupt
from .options import Done, cell_parser, split
from .traits import NotebookDefaults

_SAMPLING = re.compile(r"[ \t]+--(?:samples|pick)(?:=|[ \t]+)[^ \t]+")


@magics_class
class ChatMagics(Magics, NotebookDefaults):
    """``%%chat`` and ``%chat``; the notebook's defaults are its traitlets (traits.py):
    ``%config ChatMagics`` lists them."""

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self.cell_id: str | None = None
        self.raw_cell = ""
        self.errors: dict[int, str] = {}  # Err[n]: the error of cell n, aligned with In[n]
        self._cell = cell_parser()
        shell.events.register("pre_run_cell", self._pre_run_cell)
        shell.events.register("post_run_cell", self._post_run_cell)

    # -- hooks ----------------------------------------------------------------------------
    def _pre_run_cell(self, info: Any) -> None:
        self.cell_id = getattr(info, "cell_id", None)
        self.raw_cell = getattr(info, "raw_cell", "") or ""

    def _post_run_cell(self, result: Any) -> None:
        err = result.error_in_exec or result.error_before_exec
        if err is not None and result.execution_count:
            self.errors[result.execution_count] = f"{type(err).__name__}: {err}"

    def source_key(self, line: str, cell: str) -> str:
        """A hash of the cell's text: the same in every frontend, on every machine. How many
        samples and which one is filed are not part of it (``--samples``, ``--pick``): more
        samples keep the first ones, sample 0 is the cell without them, and picking another
        sample replays the same ones."""
        source = self.raw_cell or f"%%chat {line}\n{cell}"
        head, nl, body = source.partition("\n")
        source = _SAMPLING.sub("", head) + nl + body
        return "src:" + hashlib.sha256(source.encode()).hexdigest()[:16]

    def cell_key(self, line: str, cell: str) -> str:
        """The cell's stable id; without one (terminal, nbval, old frontends), its text's hash."""
        return f"id:{self.cell_id}" if self.cell_id else self.source_key(line, cell)

    # -- the magic ------------------------------------------------------------------------
    @line_cell_magic
    def chat(self, line: str, cell: str | None = None) -> Any:
        """%%chat [options]: send the cell to a model. %chat help: the subcommands."""
        try:
            if cell is None:
                from .line import run_line

                return run_line(line)
            from .cell import run_cell_turn

            return run_cell_turn(self, self._cell.parse_args(split(line)), line, cell)
        except Done:
            return None
        except (ChatError, UsageError):
            raise
        except KeyboardInterrupt as exc:  # one line, never a traceback through our internals
            if hasattr(exc, "_render_traceback_"):
                raise
            raise calm_interrupt("interrupted: nothing filed") from None
        except Exception as exc:  # one line, never frames that may hold a request
            raise ChatError(
                f"unexpected {type(exc).__name__}: {clip(str(exc), 300)}",
                hint="This is a bug in jupyter-chat; the message above holds no key.",
            ) from None

    def lookup(self, name: str) -> Any:
        if name == "Err":
            return self.errors
        return self.shell.user_ns[name]

    @property
    def terminal(self) -> bool:
        return not hasattr(self.shell, "kernel")


def register(ip: Any) -> None:
    """Register the magics, the comm target, and how a ``Turn`` shows itself."""
    from ..display.comm import FRONTEND

    ip.register_magics(ChatMagics)
    if _bodiless not in ip.input_transformers_cleanup:
        ip.input_transformers_cleanup.append(_bodiless)
    FRONTEND.attach(ip)
    markdown = ip.display_formatter.formatters["text/markdown"]
    markdown.for_type_by_name("jupyter_chat.session.turn", "Turn", _turn_markdown)


def _bodiless(lines: list[str]) -> list[str]:
    """A ``%%chat`` cell with no body reaches the magic (IPython refuses it before): so
    ``%%chat --help`` works alone, and an empty cell gets the magic's own one-line error."""
    if lines and lines[0].split(None, 1)[:1] == ["%%chat"] and not "".join(lines[1:]).strip():
        return [lines[0].rstrip("\n") + "\n", " \n"]
    return lines


def _turn_markdown(turn: Any) -> str:
    from ..display.bundle import answer_markdown

    return str(answer_markdown(turn.text))
