import json
from pathlib import Path

import pytest

from jupyterlab_datalake.core.did import is_valid_did, parse_did
from jupyterlab_datalake.errors import DatalakeError

VECTORS = json.loads((Path(__file__).parents[1] / "did_vectors.json").read_text())


@pytest.mark.parametrize("case", VECTORS["valid"], ids=lambda c: c["did"])
def test_valid_vectors(case):
    did = parse_did(case["did"])
    assert (did.scope, did.name) == (case["scope"], case["name"])
    assert str(did) == f"{case['scope']}:{case['name']}"


@pytest.mark.parametrize("case", VECTORS["invalid"], ids=lambda c: c["did"] or "empty")
def test_invalid_vectors(case):
    with pytest.raises(DatalakeError) as info:
        parse_did(case["did"])
    assert info.value.status == 400
    assert info.value.reason == "BAD_DID"
    assert "scope:name" in info.value.message


def test_name_length_limit():
    limits = VECTORS["long_name"]
    assert is_valid_did(f"{limits['scope']}:" + "a" * limits["valid_length"])
    assert not is_valid_did(f"{limits['scope']}:" + "a" * limits["invalid_length"])


def test_pattern_allows_wildcards():
    assert parse_did("demo:lofar*", pattern=True).name == "lofar*"
    assert not is_valid_did("demo:lofar*")
