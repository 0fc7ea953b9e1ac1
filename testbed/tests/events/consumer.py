"""A STOMP consumer for the tests: what a subscriber of the testbed's broker gets, and when."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import stomp

RULE_EVENTS_SELECTOR = "event_type IN ('rule_ok','rule_progress')"


@dataclass(frozen=True)
class Message:
    event_type: str
    payload: dict[str, Any]
    created_at: str
    received_at: float  # time.time() when stomp.py handed it over


class Consumer(stomp.ConnectionListener):
    """One connection, one subscription to the events topic; collects every message.

    `client_id` + `durable` make it a durable subscription (ActiveMQ keeps the messages for it
    while it is away); `selector` is passed to the broker, which filters on the headers.
    """

    def __init__(
        self,
        events: dict[str, Any],
        *,
        selector: str | None = None,
        client_id: str | None = None,
        durable: str | None = None,
    ) -> None:
        host, port = events["brokers"][0].rsplit(":", 1)
        self.events = events
        self.selector = selector
        self.client_id = client_id
        self.durable = durable
        self.messages: list[Message] = []
        self._cond = threading.Condition()
        self._receipts: set[str] = set()
        self.conn = stomp.Connection12([(host, int(port))])
        self.conn.set_listener("", self)

    # stomp.py calls these from its receiver thread.
    def on_message(self, frame: stomp.utils.Frame) -> None:
        body = json.loads(frame.body)
        message = Message(body["event_type"], body["payload"], body["created_at"], time.time())
        with self._cond:
            self.messages.append(message)
            self._cond.notify_all()

    def on_receipt(self, frame: stomp.utils.Frame) -> None:
        with self._cond:
            self._receipts.add(frame.headers["receipt-id"])
            self._cond.notify_all()

    def _wait(self, predicate: Callable[[], bool], timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

    def start(self) -> Consumer:
        password = Path(self.events["password_file"]).read_text().strip()
        headers = {"client-id": self.client_id} if self.client_id else {}
        self.conn.connect(self.events["username"], password, wait=True, headers=headers)
        sub_headers: dict[str, str] = {}
        if self.selector:
            sub_headers["selector"] = self.selector
        if self.durable:
            sub_headers["activemq.subscriptionName"] = self.durable
        # With a receipt, the subscription is in place before anything the test does next.
        receipt = str(uuid.uuid4())
        sub_headers["receipt"] = receipt
        self.conn.subscribe(self.events["destination"], id="1", ack="auto", headers=sub_headers)
        if not self._wait(lambda: receipt in self._receipts, 10):
            raise TimeoutError("the broker did not confirm the subscription within 10 s")
        return self

    def stop(self, *, forget: bool = False) -> None:
        """Disconnect; `forget` also removes a durable subscription from the broker."""
        if forget and self.durable:
            self.conn.unsubscribe("1", headers={"activemq.subscriptionName": self.durable})
        self.conn.disconnect()

    def wait_for(self, predicate: Callable[[Message], bool], timeout: float) -> Message | None:
        found: list[Message] = []

        def seen() -> bool:
            found[:] = [m for m in self.messages if predicate(m)]
            return bool(found)

        return found[0] if self._wait(seen, timeout) else None

    def about(self, rule_id: str) -> list[Message]:
        with self._cond:
            return [m for m in self.messages if m.payload.get("rule_id") == rule_id]
