"""What the mock saw: outbound messages, read receipts, customers' last messages, and counters.

Everything sits behind one lock held for a few list appends, so the send path stays short; the
expensive figures (max_in_any_second, duplicates) are computed only when /_mock/stats asks.
"""

from __future__ import annotations

import bisect
import json
import threading
from typing import Any


class Ledger:
    """The mock's memory, cleared by POST /_mock/reset."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget messages, reads, inbound history and counters."""
        with self._lock:
            self._seq = 0
            self._messages: list[dict] = []
            self._reads: list[dict] = []
            self._arrivals: list[float] = []
            self._last_inbound: dict[str, float] = {}
            self._rejected: dict[int, int] = {}

    def accept(self, wamid: str, to: str, kind: str, body: dict, at: float, record: bool) -> None:
        """Count an accepted send; keep the message itself when `record` is on."""
        with self._lock:
            self._arrivals.append(at)
            if record:
                self._seq += 1
                self._messages.append(
                    {"seq": self._seq, "wamid": wamid, "to": to, "type": kind, "body": body, "at": at}
                )

    def reject(self, code: int) -> None:
        """Count a send answered with Meta error `code`."""
        with self._lock:
            self._rejected[code] = self._rejected.get(code, 0) + 1

    def read(self, message_id: str, typing: bool, at: float) -> None:
        """Keep a mark-as-read request (with or without typing indicator)."""
        with self._lock:
            self._seq += 1
            self._reads.append({"seq": self._seq, "message_id": message_id, "typing": typing, "at": at})

    def inbound(self, wa_id: str, at: float) -> None:
        """Remember that customer `wa_id` wrote at `at` (opens the 24-hour window)."""
        with self._lock:
            self._last_inbound[wa_id] = at

    def last_inbound(self, wa_id: str) -> float | None:
        """When customer `wa_id` last wrote, or None."""
        return self._last_inbound.get(wa_id)

    def messages(self, to: str | None = None, since: int = 0, limit: int | None = None) -> dict:
        """Recorded outbound messages after seq `since`, oldest first, optionally to one recipient."""
        return self._query(self._messages, "to", to, since, limit, "messages")

    def reads(self, message_id: str | None = None, since: int = 0, limit: int | None = None) -> dict:
        """Recorded read receipts after seq `since`, oldest first."""
        return self._query(self._reads, "message_id", message_id, since, limit, "reads")

    def _query(
        self, rows: list[dict], field: str, value: str | None, since: int, limit: int | None, name: str
    ) -> dict:
        with self._lock:
            start = bisect.bisect_right(rows, since, key=lambda row: row["seq"])
            found = [row for row in rows[start:] if value is None or row[field] == value]
            last_seq = self._seq
        return {name: found[:limit] if limit else found, "last_seq": last_seq}

    def stats(self) -> dict[str, Any]:
        """Counters plus the densest second of accepted sends (GET /_mock/stats)."""
        with self._lock:
            arrivals = sorted(self._arrivals)
            rejected = dict(self._rejected)
            messages = list(self._messages)
            reads = len(self._reads)
        return {
            "accepted": len(arrivals),
            "rejected": sum(rejected.values()),
            "by_code": {str(code): count for code, count in sorted(rejected.items())},
            "max_in_any_second": max_in_window(arrivals, 1.0),
            "first_at": arrivals[0] if arrivals else None,
            "last_at": arrivals[-1] if arrivals else None,
            "reads": reads,
            "duplicates_to_same_body": duplicates(messages),
        }


def max_in_window(sorted_times: list[float], width: float) -> int:
    """The most times that fall inside any half-open window [t, t + width): one two-pointer pass."""
    best = start = 0
    for end, time_ in enumerate(sorted_times):
        while time_ - sorted_times[start] >= width:
            start += 1
        best = max(best, end - start + 1)
    return best


def duplicates(messages: list[dict]) -> int:
    """How many recorded messages repeat an earlier one: same recipient, same body."""
    seen: set[tuple[str, str]] = set()
    repeats = 0
    for message in messages:
        key = (message["to"], json.dumps(message["body"], sort_keys=True))
        repeats += key in seen
        seen.add(key)
    return repeats
