"""Images as message parts: a path, an http(s) URL, bytes, a PIL image or a matplotlib figure
becomes an ``image_url`` part (a data URL with its media type sniffed from the bytes), and a
record entry that keeps its hash, never its bytes."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import stat
from pathlib import Path
from typing import Any

from ..errors import ConfigError

MAX_IMAGE_BYTES = 10 * 1024 * 1024  # Adaptive's documented limit; a sane one for the others
_MAGIC = [
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
]


def _sniff(data: bytes) -> str:
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    raise ConfigError("unsupported image format", hint="Use PNG, JPEG, GIF or WebP.")


def image_part(source: Any, *, data_urls_only: bool = False) -> tuple[dict[str, Any], dict]:
    """An ``image_url`` content part for a path, URL, bytes, PIL image or matplotlib figure,
    and its record entry (hash, media type, size: never the bytes)."""
    if isinstance(source, str) and source.startswith(("http://", "https://")):
        if not data_urls_only:
            info = {"url": source, "sha256": hashlib.sha256(source.encode()).hexdigest()}
            return {"type": "image_url", "image_url": {"url": source}}, info
        data = _fetch(source)
    elif isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        data = _read_image_file(Path(source).expanduser())
    elif hasattr(source, "savefig"):  # a matplotlib figure
        buf = io.BytesIO()
        source.savefig(buf, format="png", bbox_inches="tight")
        data = buf.getvalue()
    elif hasattr(source, "save") and hasattr(source, "mode"):  # a PIL image
        buf = io.BytesIO()
        source.save(buf, format="PNG")
        data = buf.getvalue()
    else:
        raise ConfigError(
            f"cannot use a {type(source).__name__} as an image",
            hint="Give a path, an http(s) URL, bytes, a PIL image or a figure.",
        )
    if len(data) > MAX_IMAGE_BYTES:
        raise ConfigError(
            f"the image is {len(data) / 1e6:.1f} MB; the limit is {MAX_IMAGE_BYTES / 1e6:.0f} MB",
            hint="Resize or compress it.",
        )
    mime = _sniff(data)
    url = f"data:{mime};base64,{base64.b64encode(data).decode()}"
    info = {"sha256": hashlib.sha256(data).hexdigest(), "media_type": mime, "bytes": len(data)}
    return {"type": "image_url", "image_url": {"url": url}}, info


def _read_image_file(path: Path) -> bytes:
    """A regular file of at most ``MAX_IMAGE_BYTES``, checked before it is read (a device such
    as /dev/zero never ends)."""
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise ConfigError(f"the image {path} is not a regular file")
        if st.st_size > MAX_IMAGE_BYTES:
            raise ConfigError(
                f"the image is {st.st_size / 1e6:.1f} MB; the limit is "
                f"{MAX_IMAGE_BYTES / 1e6:.0f} MB",
                hint="Resize or compress it.",
            )
        with path.open("rb") as f:
            return f.read(MAX_IMAGE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read the image {path}: {exc.strerror or exc}") from None


def _fetch(url: str) -> bytes:
    import httpx

    try:
        with httpx.stream("GET", url, timeout=20, follow_redirects=True) as resp:
            resp.raise_for_status()
            data = bytearray()
            for chunk in resp.iter_bytes():
                data += chunk
                if len(data) > MAX_IMAGE_BYTES:
                    raise ConfigError(f"the image at {url} is over {MAX_IMAGE_BYTES / 1e6:.0f} MB")
            return bytes(data)
    except httpx.HTTPError as exc:
        raise ConfigError(
            f"cannot fetch the image {url} ({type(exc).__name__})",
            hint="This provider takes images only as data; download it and give the file.",
        ) from None
