"""Fixtures of the browser tests: a JupyterLab server per module (browser_lab.py), Debian's
Chromium, a fresh page per test, a loopback tracker that records every request."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from browser_lab import NotebookPage, Tracker, delete_path, launch_browser, start_lab, stop_lab
from kernel import PATGATEWAY_TOML, kernel_env


@pytest.fixture(scope="module")
def lab(server, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lab")
    cfg = tmp / "config.toml"
    cfg.write_text(PATGATEWAY_TOML)
    lab = start_lab(tmp, kernel_env(server, str(cfg)))
    yield lab
    stop_lab(lab)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context, profile = launch_browser(p)
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


def fresh_page(lab, browser):
    """A fresh page on ``lab``; the kernels it started are shut down afterwards."""
    page = browser.new_page()
    yield NotebookPage(page, lab)
    page.close()
    for session in lab.api("/api/sessions"):
        delete_path(lab, f"/api/sessions/{session['id']}")


@pytest.fixture
def nb(lab, browser):
    yield from fresh_page(lab, browser)


@pytest.fixture
def shots(tmp_path):
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def tracker():
    t = Tracker().start()
    yield t
    t.stop()


@pytest.fixture(scope="module")
def lab_plain(server, tmp_path_factory):
    """JupyterLab with jupyter-chat's extension disabled: only text/markdown renders."""
    tmp = tmp_path_factory.mktemp("plainlab")
    cfg = tmp / "config.toml"
    cfg.write_text(PATGATEWAY_TOML)
    conf = tmp / "jupyter-config"
    (conf / "labconfig").mkdir(parents=True)
    (conf / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"jupyter-chat": True}})
    )
    env = {**kernel_env(server, str(cfg)), "JUPYTER_CONFIG_DIR": str(conf)}
    lab = start_lab(tmp, env)
    yield lab
    stop_lab(lab)


@pytest.fixture
def nb_plain(lab_plain, browser):
    yield from fresh_page(lab_plain, browser)
