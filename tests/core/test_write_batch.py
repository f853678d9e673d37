"""The write batch: flushes held during an upstream read run at its end, in order, once the outermost batch ends."""

from __future__ import annotations

from gateway.core.write_batch import WriteBatch


def test_held_flushes_run_when_the_outermost_batch_ends() -> None:
    batch = WriteBatch()
    ran: list[str] = []
    batch.open()
    batch.pending.append(lambda: ran.append("a"))
    batch.open()  # a read handled inside another one's callbacks
    batch.pending.append(lambda: ran.append("b"))
    batch.close()
    assert ran == [] and batch.depth == 1
    batch.close()
    assert ran == ["a", "b"] and batch.depth == 0 and batch.pending == []


def test_a_flush_held_by_a_flush_runs_too() -> None:
    batch = WriteBatch()
    ran: list[str] = []

    def first() -> None:
        ran.append("first")
        batch.pending.append(lambda: ran.append("second"))

    batch.open()
    batch.pending.append(first)
    batch.close()
    assert ran == ["first", "second"] and batch.pending == []
