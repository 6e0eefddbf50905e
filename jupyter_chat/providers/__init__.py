"""Providers: profiles are data (profiles.py), configuration and keys (config.py), quirks are
hooks on a profile (hooks.py: signed answers, server-side tools, the managed local server)."""

import sys
import types


class _Package(types.ModuleType):
    """``jupyter_chat.providers`` is both this package and the public function
    ``jupyter_chat.providers()`` (once a submodule is imported, Python binds the package's
    name on ``jupyter_chat``): calling it lists the providers."""

    def __call__(self) -> dict:
        from .config import CONFIG

        return dict(CONFIG.profiles())


sys.modules[__name__].__class__ = _Package
