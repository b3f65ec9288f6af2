"""meshinject: automatic sidecar injection for Istio/ASM service meshes."""

__version__ = "0.1.0"
