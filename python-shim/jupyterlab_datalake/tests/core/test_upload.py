"""The upload flow against a stand-in Rucio: what is registered when, what is left on the storage
when Rucio refuses or fails for a moment. (Against the real testbed: tests/integration.)"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from conftest import stub_instance

from jupyterlab_datalake.core.config import parse_config
from jupyterlab_datalake.core.did import DID
from jupyterlab_datalake.core.paths import PathResolver
from jupyterlab_datalake.core.upload import RETRY_DELAYS, Uploader
from jupyterlab_datalake.errors import DatalakeError


class Rucio:
    """Only the calls an upload makes; ``fail`` maps a call to the errors it raises in turn."""

    def __init__(self, mount: Path) -> None:
        self.mount = mount
        self.dids: dict[DID, dict[str, Any]] = {}
        self.rules: list[dict[str, Any]] = []
        self.fail: dict[str, list[DatalakeError | None]] = {}
        self.calls: list[str] = []

    def _maybe_fail(self, call: str) -> None:
        """Raise the next error queued for ``call``; a queued None lets one call through."""
        self.calls.append(call)
        if self.fail.get(call):
            error = self.fail[call].pop(0)
            if error is not None:
                raise error

    async def account_scopes(self, account: str) -> list[str]:
        return ["user.alice"]

    async def rses(self, expression: str) -> list[str]:
        return ["LAKE-SAFE"] if expression == "QOS=SAFE" else ["HUB-FAST"]

    async def did(self, did: DID) -> dict[str, Any]:
        if did not in self.dids:
            raise DatalakeError(404, f"{did} does not exist", "DID_NOT_FOUND")
        return self.dids[did]

    async def write_pfn(self, rse: str, did: DID, scheme: str) -> str:
        return f"file://localhost{self.mount}/{did.scope.replace('.', '/')}/{did.name}"

    async def rse_protocols(self, rse: str) -> list[dict[str, Any]]:
        return [{"scheme": "file", "prefix": f"{self.mount}/"}]

    async def add_replicas(self, rse: str, files: list[dict[str, Any]]) -> None:
        self._maybe_fail("add_replicas")
        for f in files:
            self.dids[DID(f["scope"], f["name"])] = {**f, "type": "FILE"}

    async def add_rule(self, body: dict[str, Any]) -> str:
        self._maybe_fail("add_rule")
        self.rules.append(body)
        return f"{len(self.rules):032x}"


class Staging:
    def __init__(self, rucio: Rucio) -> None:
        self.rucio = rucio

    async def account(self) -> str:
        return "alice"

    async def _existing(self, did: DID, account: str, expression: str) -> dict[str, Any] | None:
        for i, rule in enumerate(self.rucio.rules):
            if rule["dids"][0] == {"scope": did.scope, "name": did.name} and (
                rule["rse_expression"] == expression
            ):
                return {"id": f"{i + 1:032x}"}
        return None

    async def joined(self, rule_ids: list[str]) -> None:
        return None


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("jupyterlab_datalake.core.upload.RETRY_DELAYS", (0.01,) * len(RETRY_DELAYS))
    mount = tmp_path / "HUB-FAST"
    mount.mkdir()
    config = parse_config([stub_instance(mounts={"HUB-FAST": str(mount)})], "stub")
    instance = config.instances["stub"]
    rucio = Rucio(mount)
    uploader = Uploader(instance, rucio, Staging(rucio), PathResolver(instance, rucio))  # type: ignore[arg-type]
    source = tmp_path / "out"
    source.mkdir()
    (source / "a.h5").write_bytes(os.urandom(5000))
    return uploader, rucio, mount, source


async def lines(uploader: Uploader, source: Path, **kwargs: Any) -> list[dict[str, Any]]:
    arguments = {"qos": "SAFE", "dataset": None, "lifetime": None, **kwargs}
    return [
        line
        async for line in uploader.upload(
            [str(source / "a.h5")], "user.alice", root=str(source), confined=False, **arguments
        )
    ]


def files(mount: Path) -> list[str]:
    return sorted(str(p.relative_to(mount)) for p in mount.rglob("*") if p.is_file())


async def test_registered_only_after_the_bytes_are_in_place_then_two_rules(setup):
    uploader, rucio, mount, source = setup

    result = await lines(uploader, source)

    assert [line["state"] for line in result] == ["PLANNED", "UPLOADING", "UPLOADED", "DONE"]
    assert files(mount) == ["user/alice/a.h5"]
    assert rucio.calls == ["add_replicas", "add_rule", "add_rule"]
    scratch, qos = rucio.rules
    assert scratch["rse_expression"] == "HUB-FAST" and scratch["lifetime"] > 0
    assert qos["rse_expression"] == "QOS=SAFE" and qos["comment"].endswith("SAFE upload")


async def test_a_refused_registration_removes_the_file_it_wrote(setup):
    uploader, rucio, mount, source = setup
    rucio.fail["add_replicas"] = [DatalakeError(403, "Rucio denied this", "ACCESS_DENIED")]

    result = await lines(uploader, source)

    (failed,) = [line for line in result if line["state"] == "FAILED"]
    assert failed["error"]["reason"] == "ACCESS_DENIED"
    assert files(mount) == [] and rucio.dids == {} and rucio.rules == []


async def test_a_transient_failure_is_tried_again(setup):
    uploader, rucio, mount, source = setup
    rucio.fail["add_replicas"] = [DatalakeError(503, "busy", "RUCIO_ERROR")]

    result = await lines(uploader, source)

    assert result[-1] == {"state": "DONE", "uploaded": 1, "existing": 0, "failed": 0}
    assert rucio.calls.count("add_replicas") == 2
    assert files(mount) == ["user/alice/a.h5"]


async def test_a_qos_rule_refused_after_registration_says_the_file_stays(setup):
    uploader, rucio, mount, source = setup
    # The scratch rule goes through, the QoS rule is refused (quota)
    rucio.fail["add_rule"] = [
        DatalakeError(409, "Your Rucio quota is too small.", "QUOTA_EXCEEDED")
    ]
    rucio.fail["add_rule"].insert(0, None)

    result = await lines(uploader, source)

    (failed,) = [line for line in result if line["state"] == "FAILED"]
    assert failed["error"]["reason"] == "QUOTA_EXCEEDED"
    assert "is registered on HUB-FAST" in failed["error"]["message"]
    assert "upload it again once this is solved" in failed["error"]["message"]
    assert files(mount) == ["user/alice/a.h5"] and DID("user.alice", "a.h5") in rucio.dids
