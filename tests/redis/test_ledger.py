"""The ledger of a process's own bookings (what it registers again after Redis lost the log)."""

from __future__ import annotations

from rongpub._redis.ledger import Entry, Ledger

WIDTH = 1_000_000


def test_split_counts_sent_and_due_entries_where_they_are_and_places_the_rest() -> None:
    ledger = Ledger(WIDTH)
    ledger.book("a:1", 1, 100, now=0)
    ledger.book("b:2", 2, 2_000_000, now=0)
    ledger.book("c:1", 1, 3_000_000, now=0)
    ledger.move("c:1", 1_500_000, left=True)  # its send left late, counted from then
    due, ahead = ledger.split(1_800_000)
    assert due == [Entry("c:1", 1, 1_500_000, left=True)]  # a:1 is out of every window
    assert ahead == [Entry("b:2", 2, 2_000_000)]


def test_a_booking_registered_again_elsewhere_is_taken_once() -> None:
    ledger = Ledger(WIDTH)
    ledger.book("a:1", 1, 100, now=0)
    ledger.placed("a:1", 2_100)
    assert ledger.take_move("a:1") == 2_100
    assert ledger.take_move("a:1") is None
    ledger.drop("a:1", "unknown:1")
    assert ledger.entries(0) == []


def test_old_entries_are_forgotten_as_the_ledger_grows() -> None:
    ledger = Ledger(WIDTH)
    for n in range(10_000):  # one booking every 10 ms for 100 s
        at = n * 10_000
        ledger.book(f"m{n}:1", 1, at, now=at)
    assert len(ledger) <= 2 * 64 + 2 * WIDTH // 10_000
