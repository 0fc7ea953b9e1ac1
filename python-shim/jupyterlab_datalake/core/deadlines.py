"""A deadline on every wait for the next line of a stream, without a timer per line.

``asyncio.timeout()`` around each wait arms and cancels a timer per line: on the 1M-file paths
stream that was a third of the Jupyter server's time (py-spy, bench/scale_bench.py). Here one
timer looks, about once per deadline, at how long the current wait has lasted, and cancels that
wait when it has lasted the whole deadline: the same promise, a few attribute writes per line.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

T = TypeVar("T")


class _Watch:
    """Cancels the task waiting for a line once that wait has lasted ``seconds``."""

    def __init__(self, seconds: float) -> None:
        self.loop = asyncio.get_running_loop()
        self.seconds = seconds
        #: the task waiting for a line and when its wait began; None between two waits
        self.waiting: tuple[asyncio.Task[object], float] | None = None
        self.fired = False
        self.timer = self.loop.call_later(seconds, self._look)

    def _look(self) -> None:
        if self.waiting is None:
            # The reader is busy with the last line: its time is not the stream's.
            self.timer = self.loop.call_later(self.seconds, self._look)
            return
        task, since = self.waiting
        if self.loop.time() - since >= self.seconds:
            self.fired = True
            task.cancel()
        else:
            self.timer = self.loop.call_at(since + self.seconds, self._look)

    def rearm(self) -> None:
        """After a cancellation the stream swallowed: watch the next waits again."""
        self.fired = False
        self.timer = self.loop.call_later(self.seconds, self._look)

    def close(self) -> None:
        self.timer.cancel()


async def lines_within(
    lines: AsyncIterator[T], seconds: float, late: Callable[[], Exception]
) -> AsyncIterator[T]:
    """The lines of ``lines``; a wait for one that lasts ``seconds`` raises ``late()`` instead.
    Closes ``lines`` however it ends."""
    watch = _Watch(seconds)
    try:
        while True:
            task = asyncio.current_task()
            assert task is not None  # an async generator always runs in a task
            watch.waiting = (task, watch.loop.time())
            try:
                line = await anext(lines)
            except StopAsyncIteration:
                return
            except asyncio.CancelledError:
                if watch.fired and task.uncancel() == 0:
                    raise late() from None
                raise  # someone else's cancellation (the reader went away)
            finally:
                watch.waiting = None
            if watch.fired:
                task.uncancel()
                watch.rearm()
            yield line
    finally:
        watch.close()
        await lines.aclose()  # type: ignore[attr-defined]
