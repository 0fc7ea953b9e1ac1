"""The deadline between two lines of a stream (core/deadlines.py): a wait that lasts it ends
the stream with the caller's error, a slow reader or a long quick stream never does, and a
cancellation from elsewhere stays a cancellation."""

import asyncio
import time

import pytest

from jupyterlab_datalake.core.deadlines import lines_within

DEADLINE = 0.3


class Late(Exception):
    pass


class Source:
    """Lines that come at once, then (optionally) a wait; records whether it was closed."""

    def __init__(self, quick: int, wait: float = 0.0, then: int = 0) -> None:
        self.quick, self.wait, self.then = quick, wait, then
        self.closed = False

    async def lines(self):
        try:
            for i in range(self.quick):
                yield i
            if self.wait:
                await asyncio.sleep(self.wait)
            for i in range(self.then):
                yield self.quick + i
        finally:
            self.closed = True


async def test_a_wait_longer_than_the_deadline_ends_the_stream_in_time():
    source = Source(quick=5, wait=60)
    seen = []
    started = time.monotonic()
    with pytest.raises(Late):
        async for line in lines_within(source.lines(), DEADLINE, Late):
            seen.append(line)
    assert seen == [0, 1, 2, 3, 4]
    assert DEADLINE <= time.monotonic() - started < DEADLINE + 0.3
    assert source.closed
    # The task is not left cancelled: it goes on awaiting normally.
    await asyncio.sleep(0.01)


async def test_many_quick_lines_and_waits_shorter_than_the_deadline_pass():
    source = Source(quick=200_000, wait=DEADLINE * 0.6, then=3)
    count = 0
    async for _ in lines_within(source.lines(), DEADLINE, Late):
        count += 1
    assert count == 200_003 and source.closed


async def test_the_readers_own_time_between_lines_does_not_count():
    seen = []
    async for line in lines_within(Source(quick=3).lines(), DEADLINE, Late):
        seen.append(line)
        await asyncio.sleep(DEADLINE * 1.5)  # a slow browser, not a slow Rucio
    assert seen == [0, 1, 2]


async def test_each_wait_gets_the_whole_deadline():
    async def steady():
        for i in range(4):
            await asyncio.sleep(DEADLINE * 0.7)  # 2.8 deadlines in all, none of them late
            yield i

    assert [line async for line in lines_within(steady(), DEADLINE, Late)] == [0, 1, 2, 3]


async def test_a_cancellation_from_elsewhere_is_not_called_late():
    source = Source(quick=1, wait=60)

    async def read():
        return [line async for line in lines_within(source.lines(), DEADLINE, Late)]

    task = asyncio.create_task(read())
    await asyncio.sleep(DEADLINE / 3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert source.closed
