"""The workspaces file, re-read by a running server when it changes (checked at most once
a second): webhook secrets added or retired with `leadledger keys webhook-secret`, and keys
declared in it, apply without a restart. A file that no longer loads, or is gone, is not
applied: the last good configuration stays, and the error is logged."""

from __future__ import annotations

import logging
import threading
import time

from adapters.config.settings import Settings
from adapters.config.workspaces import ConfigError, Workspaces, load_workspaces

CHECK_SECONDS = 1.0
log = logging.getLogger("leadledger.config")


class LiveWorkspaces:
    def __init__(self, settings: Settings, workspaces: Workspaces) -> None:
        self._settings = settings
        self._workspaces = workspaces  # updated in place: every holder sees the change
        self._stamp = self._file_stamp()
        self._checked = time.monotonic()
        self._lock = threading.Lock()

    def current(self) -> Workspaces:
        now = time.monotonic()
        if now - self._checked < CHECK_SECONDS or not self._lock.acquire(blocking=False):
            return self._workspaces
        try:
            self._checked = now
            stamp = self._file_stamp()
            if stamp != self._stamp:
                self._stamp = stamp
                if stamp is None:  # gone (not replaced: replacing is atomic): keep the last
                    log.error("config file %s is gone; keeping the last one read", self._path)
                else:
                    self._reload()
        finally:
            self._lock.release()
        return self._workspaces

    def _reload(self) -> None:
        try:
            fresh = load_workspaces(self._settings)
        except (ConfigError, OSError) as exc:
            log.error("config file not applied (the last good one stays): %s", exc)
            return
        self._workspaces.by_name = fresh.by_name
        self._workspaces.default_region = fresh.default_region
        log.info("config file re-read", extra={"workspaces": sorted(fresh.by_name)})

    @property
    def _path(self) -> str:
        return str(self._settings.config_file)

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            st = self._settings.config_file.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)
