"""Static files (CSS, JavaScript) with a content hash in their URLs, cached
for a year: after the first visit a resident's phone fetches only the page.

``url_for("static", filename="site.css")`` gives ``/static/site.css?v=<hash>``;
a changed file gets a new hash, so a year-long cache never serves a stale one.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from flask import Flask, Response, request
from werkzeug.security import safe_join

#: A versioned URL never changes its content: cache it for a year, unrevalidated.
LONG_CACHE = "public, max-age=31536000, immutable"

_versions: dict[Path, tuple[tuple[int, int], str]] = {}


def static_version(static_folder: str, filename: str) -> str | None:
    """Short hash of the file's content (kept until the file changes)."""
    joined = safe_join(static_folder, filename)
    if joined is None:
        return None
    path = Path(joined)
    try:
        stat = path.stat()
    except OSError:
        return None
    stamp = (stat.st_mtime_ns, stat.st_size)
    cached = _versions.get(path)
    if cached is None or cached[0] != stamp:
        cached = (stamp, hashlib.sha256(path.read_bytes()).hexdigest()[:12])
        _versions[path] = cached
    return cached[1]


def init_app(app: Flask) -> None:
    def favicon() -> Response:
        # Browsers ask for /favicon.ico on their own (PDFs, images opened alone).
        response = app.send_static_file("favicon.svg")
        response.headers["Cache-Control"] = "public, max-age=86400"
        return response

    app.add_url_rule("/favicon.ico", "favicon", favicon)

    @app.url_defaults
    def _version_static_urls(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "filename" in values and "v" not in values:
            version = static_version(app.static_folder, os.fspath(values["filename"]))
            if version:
                values["v"] = version

    @app.after_request
    def _cache_versioned_static_files(response: Response) -> Response:
        if request.endpoint == "static" and response.status_code in (200, 304):
            filename = (request.view_args or {}).get("filename", "")
            current = static_version(app.static_folder, filename)
            # An old or missing hash may be any version: the browser asks again each time.
            fresh = current and request.args.get("v") == current
            response.headers["Cache-Control"] = LONG_CACHE if fresh else "no-cache"
        return response
