"""Where the injector configuration comes from, and its hot reload.

``--config-dir`` holds the mounted ConfigMap files. Kubernetes updates such a mount by writing a new timestamped
directory and swapping the ``..data`` symlink, so the watcher looks at the resolved files (mtime, size, inode) and
at the link target. A change is loaded once the files have stayed unchanged for the debounce time (an edit of
``config`` and ``values`` arrives as one swap, but a hand edit of a plain directory may come as several writes).
A configuration that does not load is rejected with a log line and a metric; the last good one keeps serving.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import structlog

from meshinject.inject.admission import ClusterFacts
from meshinject.inject.config import ConfigError, InjectorConfig, builtin_config, load_directory

log = structlog.get_logger("meshinject.webhook.config")

Fingerprint = tuple[object, ...]


def directory_fingerprint(directory: Path) -> Fingerprint:
    """What changes when any file of the directory (followed through symlinks) changes."""
    entries: list[object] = []
    try:
        names = sorted(os.listdir(directory))
    except OSError as err:
        return (("error", err.errno),)
    for name in names:
        path = directory / name
        try:
            target = os.readlink(path) if os.path.islink(path) else ""
            st = os.stat(path)
        except OSError:
            entries.append((name, "gone"))
            continue
        entries.append((name, target, st.st_mtime_ns, st.st_size, st.st_ino))
    return tuple(entries)


class Watcher(Protocol):
    """Tells when the configuration files may have changed (a seam: tests and inotify can replace polling)."""

    async def wait_for_change(self) -> None: ...


class PollingWatcher:
    """Returns once the directory's fingerprint changed and then stayed the same for ``debounce`` seconds."""

    def __init__(self, directory: Path, *, interval: float = 1.0, debounce: float = 0.5) -> None:
        self.directory = directory
        self.interval = interval
        self.debounce = debounce
        self._seen = directory_fingerprint(directory)

    async def wait_for_change(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            current = directory_fingerprint(self.directory)
            if current == self._seen:
                continue
            # Debounce: wait until the writes stop.
            while True:
                await asyncio.sleep(self.debounce)
                later = directory_fingerprint(self.directory)
                if later == current:
                    break
                current = later
            self._seen = current
            return


def load_config(
    config_dir: Path | None, *, revision: str | None = None, native_sidecars: str | None = None
) -> InjectorConfig:
    """The configuration of ``config_dir`` (or the built-in one) with the command-line flags applied."""
    config = load_directory(config_dir) if config_dir is not None else builtin_config()
    changes: dict[str, str] = {}
    if revision is not None:
        changes["revision"] = revision
    if native_sidecars is not None:
        changes["native_sidecars"] = native_sidecars
    return config.with_flags(**changes) if changes else config


class ConfigHolder:
    """The configuration being served; replaced in one assignment so a request sees the old or the new one."""

    def __init__(
        self,
        loader: Callable[[], InjectorConfig],
        *,
        facts: Callable[[], ClusterFacts] = ClusterFacts,
        on_reload: Callable[[bool], None] | None = None,
    ) -> None:
        self._loader = loader
        self._facts = facts
        self._on_reload = on_reload
        self._config: InjectorConfig | None = None
        self._generation = 0
        self.last_error: str | None = None

    @property
    def ready(self) -> bool:
        return self._config is not None

    def config(self) -> InjectorConfig | None:
        return self._config

    def facts(self) -> ClusterFacts:
        return self._facts()

    def load(self, *, initial: bool = False) -> bool:
        """Load from the source; on failure keep what was serving. Returns whether a new configuration is in use."""
        started = time.perf_counter()
        try:
            config = self._loader()
        except ConfigError as err:
            return self._rejected(str(err), initial)
        except Exception as err:  # a loader bug must not take the server down either
            return self._rejected(f"{type(err).__name__}: {err}", initial)
        self._config = config
        self._generation += 1
        self.last_error = None
        log.info(
            "configuration loaded",
            source=config.source,
            generation=self._generation,
            templates=sorted(config.templates),
            revision=config.revision,
            native_sidecars=config.native_sidecars,
            seconds=round(time.perf_counter() - started, 3),
        )
        if not initial and self._on_reload:
            self._on_reload(True)
        return True

    def _rejected(self, message: str, initial: bool) -> bool:
        self.last_error = message
        if self._config is None:
            log.error("no usable injector configuration; not ready", error=message)
        else:
            log.error("new configuration rejected; still serving the previous one", error=message)
        if not initial and self._on_reload:
            self._on_reload(False)
        return False

    async def watch(self, watcher: Watcher) -> None:
        """Reload after every change the watcher reports (runs until cancelled)."""
        while True:
            await watcher.wait_for_change()
            # Parsing templates takes a moment: keep the event loop answering meanwhile.
            await asyncio.to_thread(self.load)
