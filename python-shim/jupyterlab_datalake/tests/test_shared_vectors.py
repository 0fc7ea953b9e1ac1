"""The rules the frontend shares, against the vectors in spec/vectors/ (which
src/__tests__/vectors.spec.ts reads too)."""

import json
import keyword
import subprocess
import sys
from pathlib import Path

import pytest

from jupyterlab_datalake.core.did import is_valid_did, parse_did, parse_search
from jupyterlab_datalake.core.sizes import UNKNOWN, format_bytes
from jupyterlab_datalake.core.staging import parse_rule_id
from jupyterlab_datalake.errors import DatalakeError
from jupyterlab_datalake.kernel.display import progress_percent
from jupyterlab_datalake.kernel.lifetime import format_duration, parse_duration
from jupyterlab_datalake.kernel.names import DEFAULT_NAMING, NAMINGS, is_bindable, variable_name

VECTORS = Path(__file__).resolve().parents[3] / "spec" / "vectors"


def vectors(name: str) -> dict:
    return json.loads((VECTORS / f"{name}.json").read_text())


def number(value: object) -> object:
    """JSON has no NaN or Infinity: the vectors write them as strings."""
    return float(value) if value in ("NaN", "Infinity") else value


DID = vectors("did")
NAMES = vectors("variable_names")
BINDABLE = vectors("bindable_names")
BYTES = vectors("byte_sizes")
PROGRESS = vectors("progress")
DURATIONS = vectors("durations")
RULE_IDS = vectors("rule_ids")


# ---- DID grammar -----------------------------------------------------------------------------


@pytest.mark.parametrize("case", DID["valid"], ids=lambda c: c["did"])
def test_valid_dids(case):
    did = parse_did(case["did"])
    assert (did.scope, did.name) == (case["scope"], case["name"])
    assert str(did) == f"{case['scope']}:{case['name']}"


@pytest.mark.parametrize("case", DID["invalid"], ids=lambda c: repr(c["did"]))
def test_invalid_dids(case):
    with pytest.raises(DatalakeError) as info:
        parse_did(case["did"])
    assert (info.value.status, info.value.reason) == (400, "BAD_DID")
    assert "scope:name" in info.value.message


def test_name_length_limit():
    limits = DID["long_name"]
    assert is_valid_did(f"{limits['scope']}:" + "a" * limits["valid_length"])
    assert not is_valid_did(f"{limits['scope']}:" + "a" * limits["invalid_length"])


@pytest.mark.parametrize("case", DID["searches"], ids=lambda c: repr(c["text"]))
def test_searches(case):
    if case["search"] is None:
        with pytest.raises(DatalakeError):
            parse_search(case["text"])
    else:
        assert str(parse_search(case["text"])) == case["search"]


# ---- variable names --------------------------------------------------------------------------


def test_the_default_naming():
    assert NAMES["default"] == DEFAULT_NAMING


@pytest.mark.parametrize("naming", NAMINGS)
@pytest.mark.parametrize("case", NAMES["cases"], ids=lambda c: c["did"])
def test_variable_names(case, naming):
    name = variable_name(case["did"], naming)
    assert name == case[naming]
    assert is_bindable(name)


@pytest.mark.parametrize("name", BINDABLE["bindable"])
def test_bindable(name):
    assert is_bindable(name)


@pytest.mark.parametrize("name", BINDABLE["not_bindable"])
def test_not_bindable(name):
    assert not is_bindable(name)


def test_the_frontend_knows_every_keyword_and_builtin_of_this_python():
    assert set(keyword.kwlist) == set(BINDABLE["python_keywords"])
    # A fresh interpreter: IPython, once started in this one, adds its own names to builtins.
    code = "import builtins; print(' '.join(dir(builtins)))"
    names = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    own = {n for n in names.stdout.split() if not (n.startswith("__") and n.endswith("__"))}
    assert own <= set(BINDABLE["python_builtins"])
    assert not any(is_bindable(n) for n in own)


# ---- byte sizes, progress, durations, rule ids -----------------------------------------------


@pytest.mark.parametrize("case", BYTES["cases"], ids=lambda c: repr(c["bytes"]))
def test_byte_sizes(case):
    assert format_bytes(number(case["bytes"])) == case["text"]


def test_unknown_size():
    assert format_bytes(None) == UNKNOWN == BYTES["unknown"]


@pytest.mark.parametrize("case", PROGRESS["cases"], ids=str)
def test_progress(case):
    assert progress_percent(case["files_ok"], case["files_total"], case["state"]) == case["percent"]


@pytest.mark.parametrize("case", DURATIONS["parse"], ids=lambda c: repr(c["text"]))
def test_durations_parse(case):
    assert parse_duration(case["text"]) == case["seconds"]


@pytest.mark.parametrize("text", DURATIONS["refused"], ids=repr)
def test_durations_refused(text):
    with pytest.raises(DatalakeError) as info:
        parse_duration(text)
    assert info.value.reason == "BAD_DURATION" and "7d" in info.value.message


@pytest.mark.parametrize("case", DURATIONS["numbers"], ids=lambda c: repr(c["number"]))
def test_durations_from_numbers(case):
    value = number(case["number"])
    if case["seconds"] is None:
        with pytest.raises(DatalakeError):
            parse_duration(value)
    else:
        assert parse_duration(value) == case["seconds"]


@pytest.mark.parametrize("case", DURATIONS["format"], ids=lambda c: repr(c["seconds"]))
def test_durations_format_and_read_back(case):
    text = format_duration(case["seconds"])
    assert text == case["text"]
    if text != "0s":
        assert format_duration(parse_duration(text)) == text


@pytest.mark.parametrize("case", RULE_IDS["valid"], ids=lambda c: c["text"])
def test_rule_ids(case):
    assert parse_rule_id(case["text"]) == case["id"]


@pytest.mark.parametrize("text", RULE_IDS["invalid"], ids=repr)
def test_not_rule_ids(text):
    with pytest.raises(DatalakeError) as info:
        parse_rule_id(text)
    assert info.value.reason == "BAD_RULE_ID"
