"""The body-read deadline of the webhook: swept, and as exact about cancellations as asyncio.timeout."""

from __future__ import annotations

import asyncio

import pytest

from meshinject.webhook.app import BodyDeadlines


async def _read(deadlines: BodyDeadlines, arrives: asyncio.Future[bytes]) -> bytes:
    async with deadlines.guard():
        return await arrives


def test_a_read_past_its_deadline_ends_in_timeout_error() -> None:
    async def main() -> None:
        deadlines = BodyDeadlines(0.05)
        sweeper = asyncio.create_task(deadlines.run())
        never: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        try:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(_read(deadlines, never), 5)
        finally:
            sweeper.cancel()

    asyncio.run(main())


def test_a_read_within_its_deadline_is_untouched_and_forgotten() -> None:
    async def main() -> None:
        deadlines = BodyDeadlines(10)
        body: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_later(0.01, body.set_result, b"{}")
        assert await _read(deadlines, body) == b"{}"
        deadlines.sweep(asyncio.get_running_loop().time() + 60)  # nothing left to cancel

    asyncio.run(main())


def test_a_cancellation_from_elsewhere_stays_a_cancellation() -> None:
    async def main() -> None:
        deadlines = BodyDeadlines(10)
        never: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        reader = asyncio.create_task(_read(deadlines, never))
        await asyncio.sleep(0)
        reader.cancel()  # shutdown, say: not the deadline
        with pytest.raises(asyncio.CancelledError):
            await reader

    asyncio.run(main())


def test_shutdown_during_an_expired_read_is_still_a_cancellation() -> None:
    async def main() -> None:
        deadlines = BodyDeadlines(0.01)
        never: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        reader = asyncio.create_task(_read(deadlines, never))
        await asyncio.sleep(0.02)
        deadlines.sweep(asyncio.get_running_loop().time())  # the deadline's cancellation...
        reader.cancel()  # ...and shutdown's, before the task runs again
        with pytest.raises(asyncio.CancelledError):
            await reader

    asyncio.run(main())
