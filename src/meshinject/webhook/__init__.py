"""meshinject.webhook: the mutating admission webhook server (``meshinject serve``).

Layering: this package uses :mod:`meshinject.inject` (the pure engine) and never the CLI or the cluster layer;
the node watcher talks to the cluster through lightkube directly and is optional.
"""

from .settings import MAX_BODY_BYTES, WebhookSettings

__all__ = ["MAX_BODY_BYTES", "WebhookSettings"]
