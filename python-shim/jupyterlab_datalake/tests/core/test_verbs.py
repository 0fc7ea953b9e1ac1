"""The verb table: each verb is the service method of its name, with the same parameters."""

import inspect

import pytest

from jupyterlab_datalake.core.service import DatalakeService
from jupyterlab_datalake.core.verbs import VERBS
from jupyterlab_datalake.errors import DatalakeError


@pytest.mark.parametrize("verb", VERBS.values(), ids=lambda v: v.name)
def test_each_verb_is_a_service_method_with_its_parameters(verb):
    parameters = list(inspect.signature(getattr(DatalakeService, verb.name)).parameters)[1:]
    assert parameters == [*verb.params, *(["instance"] if verb.per_instance else [])]


def test_binding_follows_the_method_signature():
    search = VERBS["search"]
    assert search.bind(("demo:*",), {"limit": 5}) == {"did": "demo:*", "limit": 5}
    for args, kwargs in (
        (("a", "b", "c", "d", "e", "f"), {}),
        ((), {"nope": 1}),
        (("x",), {"did": "y"}),
    ):
        with pytest.raises(TypeError):
            search.bind(args, kwargs)


def test_path_parameters_are_checked_before_they_are_sent():
    extend = VERBS["extend"]
    assert extend.path({"rule_id": "AB" * 16}) == "stagings/" + "ab" * 16
    assert extend.data_params == ("lifetime",)
    with pytest.raises(DatalakeError) as info:
        extend.path({"rule_id": "../../api/kernels"})
    assert info.value.reason == "BAD_RULE_ID"
