"""Install footprint on top of IPython and ipywidgets, against jupyter-ai-magics and chatlab.

    PYTHONPATH=. python benchmarks/footprint.py [--quick] [--refresh]

Four venvs under benchmarks/.anchors/footprint/, made with this Python's ``venv`` and filled by
pip from PyPI (its cache helps), each kept for later runs:

* ``base``: ``pip install ipython ipywidgets``;
* ``jupyter-chat``: the same plus a wheel of this checkout (no extras). The wheel is built by
  ``pip wheel --no-deps`` from a copy of the working tree's files (tracked and untracked, not
  ignored) plus the built JupyterLab extension in jupyter_chat/labextension when it is there
  (then the build hook skips Node.js). The venv is kept while the wheel's dependencies stay the
  same; the wheel itself is reinstalled every run (``--quick`` reuses the last one if there is
  one). If the wheel cannot be built, the fallback measures the dependencies
  (``httpx httpx-sse pydantic anywidget``) plus the package's own files, and says so;
* ``jupyter-ai-magics``: plus ``jupyter-ai-magics``;
* ``chatlab``: plus ``chatlab``.

The footprint is the venv's disk usage (as ``du``: allocated blocks, hard links once, .pyc files
that pip compiled included) minus the base venv's. Also listed: the distributions each one
added, with their sizes (from their RECORD files), largest first. Writes
benchmarks/results/footprint.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import ANCHORS, ROOT, meta, write_result

FP = ANCHORS / "footprint"
BASE_PKGS = ["ipython", "ipywidgets"]
FALLBACK_DEPS = ["httpx", "httpx-sse", "pydantic", "anywidget"]
ANCHOR_PKGS = {"jupyter-ai-magics": ["jupyter-ai-magics"], "chatlab": ["chatlab"]}
AIM_MB = 15.0
MB = 1e6

DISTS = r"""
import json, os, importlib.metadata as md
out = {}
for d in md.distributions():
    total = 0
    for f in d.files or ():
        p = f.locate()
        try:
            total += os.path.getsize(p)
        except OSError:
            pass
    out[d.metadata["Name"]] = {"version": d.version, "bytes": total}
print(json.dumps(out))
"""


def du(path: Path) -> int:
    """Bytes allocated on disk under ``path``, each inode once (like ``du -s --block-size=1``)."""
    seen, total = set(), 0
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            st = os.lstat(os.path.join(dirpath, name))
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            total += st.st_blocks * 512
    return total


def pip_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # pip compiles .pyc files, as on a user's machine
    env.pop("PYTHONPATH", None)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def ready(path: Path) -> bool:
    return (path / ".complete").exists()


def make_venv(path: Path, pkgs: list[str]) -> None:
    """A fresh venv at ``path`` with ``pkgs``; marked complete only once pip succeeded."""
    shutil.rmtree(path, ignore_errors=True)
    print(f"   creating {path.relative_to(ROOT)}: pip install {' '.join(pkgs)}", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    pip(path, *pkgs)
    (path / ".complete").touch()


def pip(venv: Path, *args: str) -> None:
    """``pip install -q ARGS`` in ``venv``; its output is shown only if it fails."""
    p = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *args],
        capture_output=True,
        text=True,
        env=pip_env(),
    )
    if p.returncode:
        print(p.stdout[-3000:] + p.stderr[-3000:])
        raise subprocess.CalledProcessError(p.returncode, p.args)


def dists(path: Path) -> dict[str, dict]:
    p = subprocess.run(
        [str(path / "bin" / "python"), "-c", DISTS],
        capture_output=True,
        text=True,
        check=True,
        env=pip_env(),
    )
    return json.loads(p.stdout)


def source_copy(dest: Path) -> str:
    """The working tree's files (tracked and untracked, not ignored) and the built extension."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for f in filter(None, files):
        src = ROOT / f
        if src.is_file():
            (dest / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / f)
    built = ROOT / "jupyter_chat" / "labextension"
    if (built / "static" / "style.js").exists():
        shutil.copytree(built, dest / "jupyter_chat" / "labextension", dirs_exist_ok=True)
        return "prebuilt labextension included"
    return "no prebuilt labextension: the build hook runs jlpm"


def build_wheel(out: Path) -> tuple[Path | None, str]:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        how = source_copy(src)
        p = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(src)],
            capture_output=True,
            text=True,
            env=pip_env(),
        )
    wheels = sorted(out.glob("jupyter_chat-*.whl"), key=lambda w: w.stat().st_mtime)
    if p.returncode or not wheels:
        return None, f"wheel build failed ({how}): {p.stderr.strip()[-500:]}"
    return wheels[-1], how


def requires(wheel: Path) -> list[str]:
    import zipfile

    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        text = z.read(name).decode()
    return sorted(
        line.split(":", 1)[1].strip()
        for line in text.splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    )


def ours(quick: bool, refresh: bool) -> tuple[Path, str, dict]:
    """The jupyter-chat venv, up to date; (path, what was measured, details)."""
    venv, wheels = FP / "jupyter-chat", FP / "wheels"
    last = sorted(wheels.glob("jupyter_chat-*.whl"), key=lambda w: w.stat().st_mtime)
    if quick and last and ready(venv) and not refresh:
        return (
            venv,
            "wheel of this checkout (reused from an earlier run: --quick)",
            {"wheel": last[-1].name, "wheel_bytes": last[-1].stat().st_size},
        )
    shutil.rmtree(wheels, ignore_errors=True)
    wheels.mkdir(parents=True)
    wheel, how = build_wheel(wheels)
    if wheel is None:  # the fallback: the dependencies and the package's own files
        print(f"   {how}\n   measuring the dependencies plus the package's own files instead")
        fb = FP / "jupyter-chat-deps"
        if refresh or not ready(fb):
            make_venv(fb, BASE_PKGS + FALLBACK_DEPS)
        own = sum(f.stat().st_size for f in (ROOT / "jupyter_chat").rglob("*.py"))
        return (
            fb,
            f"fallback: {' '.join(FALLBACK_DEPS)} + jupyter_chat/*.py",
            {"why": how, "own_files_bytes": own},
        )
    deps = requires(wheel)
    key = hashlib.sha256(json.dumps(BASE_PKGS + deps).encode()).hexdigest()[:16]
    stamp = venv / ".deps-key"
    if refresh or not ready(venv) or not stamp.exists() or stamp.read_text() != key:
        make_venv(venv, BASE_PKGS)
        pip(venv, str(wheel))
        stamp.write_text(key)
    else:
        pip(venv, "--no-deps", "--force-reinstall", str(wheel))
    check = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import jupyter_chat, jupyter_chat.session.api, jupyter_chat.magics",
        ],
        capture_output=True,
        text=True,
        env=pip_env(),
    )
    if check.returncode:
        raise RuntimeError(f"the installed wheel does not import: {check.stderr[-500:]}")
    return (
        venv,
        f"wheel of this checkout ({how})",
        {"wheel": wheel.name, "wheel_bytes": wheel.stat().st_size, "requires": deps},
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="reuse the last wheel if there is one")
    ap.add_argument("--refresh", action="store_true", help="rebuild every venv")
    args = ap.parse_args()
    FP.mkdir(parents=True, exist_ok=True)
    venvs = {"base": FP / "base", **{name: FP / name for name in ANCHOR_PKGS}}
    errors: dict[str, str] = {}
    for name, path in venvs.items():
        if args.refresh or not ready(path):
            try:
                make_venv(path, BASE_PKGS + ANCHOR_PKGS.get(name, []))
            except subprocess.CalledProcessError as e:
                errors[name] = str(e)
    if "base" in errors:
        raise SystemExit(f"the base venv could not be made: {errors['base']}")
    jc, measured, details = ours(args.quick, args.refresh)
    venvs = {
        "base": venvs["base"],
        "jupyter-chat": jc,
        **{k: v for k, v in venvs.items() if k in ANCHOR_PKGS and k not in errors},
    }

    base_du, base_dists = du(venvs["base"]), dists(venvs["base"])
    res: dict[str, dict] = {}
    for name, path in venvs.items():
        ds = dists(path)
        added = {
            n: d
            for n, d in ds.items()
            if n not in base_dists or base_dists[n]["version"] != d["version"]
        }
        res[name] = {
            "venv_mb": du(path) / MB,
            "on_top_mb": (du(path) - base_du) / MB,
            "added": dict(
                sorted(
                    (
                        (n, {"version": d["version"], "mb": round(d["bytes"] / MB, 3)})
                        for n, d in added.items()
                    ),
                    key=lambda kv: -kv[1]["mb"],
                )
            ),
            "distributions": len(ds),
        }
    if "own_files_bytes" in details:  # the fallback: add the package's own files
        res["jupyter-chat"]["on_top_mb"] += details["own_files_bytes"] / MB
    res["jupyter-chat"]["measured"] = measured
    res["jupyter-chat"].update(details)
    base_versions = {
        n: base_dists[n]["version"] for n in ("ipython", "ipywidgets") if n in base_dists
    }

    print(
        f"\ninstall footprint on top of {' + '.join(f'{n} {v}' for n, v in base_versions.items())}"
        f" (base venv {res['base']['venv_mb']:.1f} MB)"
    )
    for name, r in res.items():
        if name == "base":
            continue
        top = ", ".join(f"{n} {d['mb']:.1f}" for n, d in list(r["added"].items())[:6])
        print(
            f"   {name:18} +{r['on_top_mb']:7.1f} MB  {len(r['added']):3d} distributions "
            f"added or changed; largest (MB): {top}"
        )
    print(f"   jupyter-chat measured: {measured}")
    ok = res["jupyter-chat"]["on_top_mb"] < AIM_MB
    print(
        f"aim: under {AIM_MB:.0f} MB on top of IPython and ipywidgets: {'met' if ok else 'MISSED'}"
    )
    for name, e in errors.items():
        print(f"WARNING: {name} could not be installed: {e}")
    write_result(
        "footprint",
        {
            "meta": meta(args.quick, base=base_versions, errors=errors, aim_mb=AIM_MB),
            "results": res,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
