"""The cyclopts application every command registers on."""

from __future__ import annotations

from cyclopts import App

from meshinject import __version__

app = App(
    name="meshinject",
    help="Automatic sidecar injection for Istio/ASM service meshes, drop-in compatible.",
    version=__version__,
)
