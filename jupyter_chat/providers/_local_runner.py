"""The managed llama.cpp server's process: runs ``llama_cpp.server`` and exits as soon as the
kernel that started it is gone.

The server runs in a session of its own, so a kernel interrupt (sent to the kernel's process
group) never reaches it; this watch replaces PR_SET_PDEATHSIG, which follows the *thread*
that started the process and so killed servers started from a short-lived worker thread.
"""

from __future__ import annotations

import os
import runpy
import sys
import threading
import time


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)  # the kernel died (even by SIGKILL): so does its server


def main() -> None:
    parent = int(sys.argv[1])
    sys.argv = ["llama_cpp.server", *sys.argv[2:]]
    threading.Thread(target=_watch, args=(parent,), name="watch-kernel", daemon=True).start()
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
