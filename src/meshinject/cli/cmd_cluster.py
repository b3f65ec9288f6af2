"""Commands: revisions, enable, disable, tag. Each registers on :data:`meshinject.cli._app.app`."""

from __future__ import annotations

from ._app import app

__all__ = ["app"]
