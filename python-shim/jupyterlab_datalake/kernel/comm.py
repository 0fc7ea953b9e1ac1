"""Comm target ``datalake``: the frontend binds notebook variables to attached DIDs.

Messages are data, never generated code: ``{"action": "bind", "name", "did", "instance"}`` puts the
DID's local paths (``DidPaths``) in the user namespace under ``name`` — or, until every file is near
the hub, a ``NotYetAvailable`` placeholder that a watcher thread replaces once the staging is
complete. Each message gets one reply: ``{"status": "ok", "state": ...}`` or
``{"status": "error", "message": ...}`` (both echo ``name``, ``did`` and any ``id``).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from ..errors import DatalakeError, shown
from .client import STAGE_AGAIN, Datalake, datalake
from .names import is_bindable, not_bindable
from .results import NotYetAvailable

log = logging.getLogger(__name__)

TARGET = "datalake"


class Binder:
    """Handles ``datalake`` comm messages for one shell and watches pending bindings."""

    def __init__(self, shell: Any, client: Datalake | None = None) -> None:
        self.shell = shell
        self.client = client or datalake
        self._stop = threading.Event()

    def on_open(self, comm: Any, open_msg: dict[str, Any]) -> None:
        """Comm target callback: answer the opening message's data, then each message."""

        def on_msg(msg: dict[str, Any]) -> None:
            comm.send(self.handle(msg["content"].get("data") or {}, comm))

        comm.on_msg(on_msg)
        data = open_msg["content"].get("data") or {}
        if data.get("action"):
            comm.send(self.handle(data, comm))

    def handle(self, data: dict[str, Any], comm: Any = None) -> dict[str, Any]:
        """The reply to one message."""
        echo = {k: data[k] for k in ("id", "name", "did") if k in data}
        if data.get("action") != "bind":
            unknown = f"Unknown action {shown(data.get('action'))}."
            return {**echo, "status": "error", "message": unknown}
        name, did, instance = data.get("name"), data.get("did"), data.get("instance")
        if not is_bindable(name):
            return {**echo, "status": "error", "message": not_bindable(name)}
        if not isinstance(did, str) or not did:
            return {**echo, "status": "error", "message": "Give the DID to bind as scope:name."}
        if instance is not None and not isinstance(instance, str):
            return {**echo, "status": "error", "message": "instance must be a name or null."}
        try:
            return {**echo, "status": "ok", **self.bind(name, did, instance, comm)}
        except DatalakeError as exc:
            return {**echo, "status": "error", "message": exc.message, "reason": exc.reason}
        except Exception as exc:  # a message is always answered: the frontend waits for it
            log.exception("datalake: binding %s to %s failed", name, did)
            message = f"Binding {name} failed in the kernel ({type(exc).__name__}); try again."
            return {**echo, "status": "error", "message": message, "reason": "KERNEL_ERROR"}

    def bind(self, name: str, did: str, instance: str | None, comm: Any = None) -> dict[str, Any]:
        """Bind ``name`` now; returns ``state`` (``AVAILABLE``, ``STAGING`` or ``NOT_STAGED``)."""
        try:
            paths = self.client.paths(did, instance=instance)
        except DatalakeError as exc:
            if exc.reason not in STAGE_AGAIN:
                raise
        else:
            self.shell.user_ns[name] = paths
            return {"state": "AVAILABLE", "files": len(paths)}
        percent = self._percent(did, instance)
        placeholder = NotYetAvailable(did, percent, instance)
        self.shell.user_ns[name] = placeholder
        if percent is None:
            return {"state": "NOT_STAGED", "percent": None}
        threading.Thread(
            target=self._watch,
            args=(name, placeholder, comm),
            name=f"datalake-bind-{name}",
            daemon=True,
        ).start()
        return {"state": "STAGING", "percent": percent}

    def _percent(self, did: str, instance: str | None) -> int | None:
        """How far this account's stagings of ``did`` are; ``None`` if there is none."""
        try:
            return self.client.status(did, instance=instance).progress(refresh=False).percent
        except DatalakeError as exc:
            if exc.reason == "NO_STAGING":
                return None
            raise

    def _watch(self, name: str, placeholder: NotYetAvailable, comm: Any) -> None:
        """Re-bind ``name`` once the staging completes, unless the user rebound it meanwhile."""
        delay, max_delay = self.client.poll_interval
        while not self._stop.wait(delay) and self.shell.user_ns.get(name) is placeholder:
            delay = min(max_delay, delay * 1.5)
            try:
                percent = self._percent(placeholder.did, placeholder.instance)
                if percent is None or percent < 100:
                    placeholder.percent = percent
                    continue
                paths = self.client.paths(placeholder.did, instance=placeholder.instance)
            except DatalakeError:
                continue  # transient (shim restarting, Rucio slow): look again later
            if self.shell.user_ns.get(name) is placeholder:
                self.shell.user_ns[name] = paths
                if comm is not None:
                    comm.send(
                        {
                            "status": "ok",
                            "state": "AVAILABLE",
                            "name": name,
                            "did": placeholder.did,
                            "files": len(paths),
                            "event": "rebound",
                        }
                    )
            return

    def stop(self) -> None:
        self._stop.set()


_binders: dict[int, Binder] = {}


def register(shell: Any) -> Binder:
    """Register the ``datalake`` comm target in ``shell``'s kernel (idempotent)."""
    from comm import get_comm_manager

    binder = _binders.get(id(shell))
    if binder is None:
        binder = _binders[id(shell)] = Binder(shell)
        get_comm_manager().register_target(TARGET, binder.on_open)
    return binder


def unregister(shell: Any) -> None:
    from comm import get_comm_manager

    binder = _binders.pop(id(shell), None)
    if binder is not None:
        binder.stop()
        get_comm_manager().unregister_target(TARGET, binder.on_open)
