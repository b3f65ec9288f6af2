"""Serving certificates that can be rotated on disk without a restart.

The listening socket keeps one :class:`ssl.SSLContext` for its whole life; its ``sni_callback`` runs at the start
of every handshake and hands that connection the newest context. A rotation builds a *fresh* context from the
files and only swaps it in when it loaded cleanly (certificate and key parse and match), so a half-written or
mismatched pair on disk never breaks a handshake: the old pair keeps serving, and the failure is logged and
counted. (Reloading into the live context instead breaks every later handshake when the new pair is bad.)
Connections already open keep the context they started with.
"""

from __future__ import annotations

import os
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import structlog

log = structlog.get_logger("meshinject.webhook.tls")


class CertificateError(Exception):
    """The certificate files cannot be used; the message names the file and the problem."""


def _stat_key(paths: tuple[Path, ...]) -> tuple[tuple[int, int, int], ...]:
    out = []
    for path in paths:
        try:
            st = os.stat(path)  # follows symlinks: Secret mounts swap a `..data` link
        except OSError:
            out.append((-1, -1, -1))
        else:
            out.append((st.st_mtime_ns, st.st_size, st.st_ino))
    return tuple(out)


def build_context(cert: Path, key: Path, client_ca: Path | None = None) -> ssl.SSLContext:
    """A server context: TLS 1.2 or newer, HTTP/1.1, optionally requiring a client certificate from ``client_ca``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    try:
        context.load_cert_chain(certfile=str(cert), keyfile=str(key))
    except FileNotFoundError as err:
        raise CertificateError(f"cannot read {err.filename or cert}: no such file") from None
    except ssl.SSLError as err:
        raise CertificateError(
            f"{cert} / {key}: not a usable certificate and matching private key ({err.reason or err})"
        ) from None
    except OSError as err:
        raise CertificateError(f"cannot read {cert} or {key}: {err.strerror or err}") from None
    if client_ca is not None:
        try:
            context.load_verify_locations(cafile=str(client_ca))
        except (ssl.SSLError, OSError) as err:
            raise CertificateError(f"{client_ca}: not a usable CA bundle ({err})") from None
        context.verify_mode = ssl.CERT_REQUIRED
    return context


@dataclass(slots=True)
class _Loaded:
    context: ssl.SSLContext
    stamp: tuple[tuple[int, int, int], ...]


class ReloadingContext:
    """The listening context plus the newest good context for each handshake."""

    def __init__(
        self,
        cert: Path,
        key: Path,
        client_ca: Path | None = None,
        *,
        on_reload: Callable[[bool], None] | None = None,
    ) -> None:
        self.cert, self.key, self.client_ca = cert, key, client_ca
        self._paths = (cert, key) if client_ca is None else (cert, key, client_ca)
        self._on_reload = on_reload
        self._lock = threading.Lock()
        stamp = _stat_key(self._paths)
        current = build_context(cert, key, client_ca)  # a bad initial pair is fatal: raise
        self._current = _Loaded(current, stamp)
        self._failed_stamp: tuple[tuple[int, int, int], ...] | None = None
        # The listening context must carry the same verification settings: OpenSSL keeps the verify mode of the
        # context a connection was created from even after the callback switches certificates.
        self.listening = build_context(cert, key, client_ca)
        self.listening.sni_callback = self._pick

    @property
    def current(self) -> ssl.SSLContext:
        return self._current.context

    def _pick(self, sock: ssl.SSLObject | ssl.SSLSocket, server_name: str | None, _: ssl.SSLContext) -> None:
        sock.context = self._current.context

    def check(self) -> bool | None:
        """Reload when the files changed: True = swapped in, False = rejected (old pair kept), None = unchanged."""
        stamp = _stat_key(self._paths)
        if stamp == self._current.stamp or stamp == self._failed_stamp:
            return None
        with self._lock:
            try:
                context = build_context(self.cert, self.key, self.client_ca)
            except CertificateError as err:
                self._failed_stamp = stamp
                log.error("certificate reload rejected; still serving the previous certificate", error=str(err))
                if self._on_reload:
                    self._on_reload(False)
                return False
            self._current = _Loaded(context, stamp)
            self._failed_stamp = None
        log.info("certificate reloaded", cert=str(self.cert))
        if self._on_reload:
            self._on_reload(True)
        return True
