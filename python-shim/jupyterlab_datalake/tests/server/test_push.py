"""The staging WebSocket and the kernel's wait route, through a real Jupyter server (auth on),
Rucio in memory."""

import asyncio
import json
import time

import pytest
from conftest import body
from tornado.httpclient import HTTPClientError
from tornado.websocket import WebSocketClosedError

from jupyterlab_datalake.server.push import push_handlers

DID = "demo:lofar-obs-sb000"


async def _stage(jp_fetch):
    response = await jp_fetch(
        "datalake", "stagings", method="POST", body=json.dumps({"dids": [DID], "qos": "FAST"})
    )
    return body(response)["stagings"][0]


async def _next(ws, timeout=5.0):
    return json.loads(await asyncio.wait_for(ws.read_message(), timeout))


async def test_the_socket_pushes_each_change_once(jp_fetch, jp_ws_fetch, app_service, fake_rucio):
    ws = await jp_ws_fetch("datalake", "stagings", "events", params={"instance": "stub"})
    staging = await _stage(jp_fetch)
    assert await _next(ws) == {"staging": staging}
    watcher = app_service.instance().staging.watcher
    fake_rucio.advance(staging["id"])  # every file there: OK
    watcher.nudge(staging["id"])  # what a broker event does
    pushed = await _next(ws)
    assert pushed["staging"]["state"] == "OK"
    assert pushed["staging"]["files_ok"] == pushed["staging"]["files_total"]
    await jp_fetch("datalake", "stagings", staging["id"], method="DELETE")
    assert await _next(ws) == {"removed": staging["id"]}
    ws.close()


async def test_the_socket_needs_a_logged_in_user(jp_ws_fetch, app_service):
    with pytest.raises(HTTPClientError) as error:
        await jp_ws_fetch("datalake", "stagings", "events", headers={"Authorization": ""})
    assert error.value.code == 403


async def test_the_socket_refuses_an_unknown_instance(jp_ws_fetch, app_service):
    with pytest.raises(HTTPClientError) as error:
        await jp_ws_fetch("datalake", "stagings", "events", params={"instance": "nowhere"})
    assert error.value.code == 400


async def test_a_closed_socket_stops_listening(jp_ws_fetch, app_service):
    ws = await jp_ws_fetch("datalake", "stagings", "events")
    watcher = app_service.instance().staging.watcher
    await asyncio.sleep(0.05)
    assert len(watcher._listeners) == 1
    ws.close()
    for _ in range(100):
        if not watcher._listeners:
            break
        await asyncio.sleep(0.02)
    assert not watcher._listeners
    with pytest.raises(WebSocketClosedError):
        await ws.write_message("{}")


def test_the_socket_is_authenticated(jp_serverapp):
    missing = [
        line
        for pattern, handler, _ in push_handlers()
        for line in jp_serverapp.web_app._check_handler_auth(pattern, handler)
    ]
    assert missing == []


async def test_wait_answers_at_once_then_as_soon_as_a_rule_changes(
    jp_fetch, app_service, fake_rucio
):
    staging = await _stage(jp_fetch)
    first = body(await jp_fetch("datalake", "stagings", "wait", params={"rule_ids": staging["id"]}))
    assert first["stagings"] == [staging]

    async def later():
        await asyncio.sleep(0.3)
        fake_rucio.advance(staging["id"])
        app_service.instance().staging.watcher.nudge(staging["id"])

    task = asyncio.create_task(later())
    started = time.monotonic()
    params = {"rule_ids": json.dumps([staging["id"]]), "after": first["cursor"], "timeout": 10}
    answer = body(await jp_fetch("datalake", "stagings", "wait", params=params))
    await task
    assert answer["stagings"][0]["state"] == "OK"
    assert answer["cursor"] > first["cursor"]
    assert time.monotonic() - started < 2.0  # the change, not the 10 s timeout, ended it


async def test_wait_without_change_ends_at_its_timeout(jp_fetch, app_service):
    staging = await _stage(jp_fetch)
    params = {"rule_ids": staging["id"], "after": 10**6, "timeout": 0.2}
    answer = body(await jp_fetch("datalake", "stagings", "wait", params=params))
    assert answer["stagings"][0]["state"] == "REPLICATING"


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({}, "BAD_RULE_ID"),
        ({"rule_ids": "nope"}, "BAD_RULE_ID"),
        ({"rule_ids": ",".join(["ab" * 16] * 101)}, "BAD_RULE_ID"),
        ({"rule_ids": "ab" * 16, "timeout": 60}, "BAD_TIMEOUT"),
        ({"rule_ids": "ab" * 16, "timeout": "soon"}, "BAD_TIMEOUT"),
        ({"rule_ids": "ab" * 16, "after": -1}, "BAD_CURSOR"),
    ],
)
async def test_wait_says_what_is_wrong(jp_fetch, app_service, params, reason):
    with pytest.raises(HTTPClientError) as error:
        await jp_fetch("datalake", "stagings", "wait", params=params)
    assert error.value.code == 400
    assert body(error.value.response)["reason"] == reason
