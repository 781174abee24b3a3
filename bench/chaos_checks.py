"""The invariants the chaos run verifies after every fault, judged against the ledger.

- every 2xx-acknowledged write is present (sessions, metadata, events, a worker's final stop);
- no work item is in a state the work state machine cannot produce (docs/work-queue.md), and no
  session has two live items;
- no item was owned by two workers at once (their fenced operations never interleave);
- events are neither lost, duplicated nor reordered, in the list and on the SSE stream;
- list pagination, walked page by page while writes go on, neither skips nor repeats.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from chaos_ledger import LeaseOp, Ledger
from chaos_load import Api

__all__ = ["Tally", "check_all", "double_owners"]

_STATES = {"queued", "starting", "active", "stopping", "stopped"}
_TS = ("acknowledged_at", "started_at", "latest_heartbeat_at", "stop_requested_at", "stopped_at")
# per state: the timestamps that must be set (True) or null (False); absent: either
_SHAPE: dict[str, dict[str, bool]] = {
    "queued": dict.fromkeys(_TS, False),
    "starting": {
        "acknowledged_at": True,
        "started_at": False,
        "latest_heartbeat_at": False,
        "stop_requested_at": False,
        "stopped_at": False,
    },
    "active": {
        "acknowledged_at": True,
        "started_at": True,
        "latest_heartbeat_at": True,
        "stop_requested_at": False,
        "stopped_at": False,
    },
    "stopping": {"acknowledged_at": True, "stop_requested_at": True, "stopped_at": False},
    "stopped": {"stopped_at": True},
}


@dataclass
class Tally:
    lost: int = 0
    impossible: int = 0
    double_owner: int = 0
    duplicated: int = 0
    reordered: int = 0
    paging: int = 0
    notes: list[str] = field(default_factory=list)

    def add(self, what: str, count: int, note: str) -> None:
        if count:
            setattr(self, what, getattr(self, what) + count)
            if len(self.notes) < 20:
                self.notes.append(f"{what}: {note}")

    @property
    def failures(self) -> int:
        return (
            self.lost
            + self.impossible
            + self.double_owner
            + self.duplicated
            + self.reordered
            + self.paging
        )


def list_all(api: Api, path: str, tally: Tally, limit: int, **params: Any) -> list[dict[str, Any]]:
    """Walk every page; a repeated or out-of-order id is a pagination fault."""
    rows: list[dict[str, Any]] = []
    page: str | None = None
    while True:
        query: dict[str, Any] = {"limit": limit, **params}
        if page:
            query["page"] = page
        body = api.must("GET", path, params=query)
        rows += body["data"]
        if not body["has_more"]:
            break
        page = body["next_page"]
    ids = [r["id"] for r in rows]
    descending = params.get("order") == "desc"
    ordered = sorted(set(ids), reverse=descending)
    tally.add("paging", len(ids) - len(set(ids)), f"{path}: an id listed twice")
    tally.add("paging", int(ids != ordered and len(ids) == len(set(ids))), f"{path}: out of order")
    return rows


def item_shape_faults(item: dict[str, Any]) -> list[str]:
    state = item.get("state")
    if state not in _STATES:
        return [f"{item['id']}: unknown state {state!r}"]
    out = []
    for name, must_be_set in _SHAPE[str(state)].items():
        if (item.get(name) is not None) != must_be_set:
            out.append(f"{item['id']} {state}: {name}={item.get(name)!r}")
    chain = [item["created_at"], item["acknowledged_at"], item["started_at"]]
    chain += [item["latest_heartbeat_at"]]
    present = [ts for ts in chain if ts is not None]
    if present != sorted(present):
        out.append(f"{item['id']}: timestamps out of order {chain}")
    if item.get("data", {}).get("type") != "session" or item.get("secret") is not None:
        out.append(f"{item['id']}: malformed data/secret")
    return out


def check_work(api: Api, ledger: Ledger, env: str, tally: Tally, limit: int, final: bool) -> None:
    expected = ledger.snapshot_sessions()
    with ledger.lock:
        stopped = set(ledger.stopped)
    items = list_all(api, f"/environments/{env}/work", tally, limit)
    by_id = {i["id"]: i for i in items}
    missing = [w for w in expected.values() if w not in by_id]
    tally.add("lost", len(missing), f"work items of acked sessions missing: {missing[:3]}")
    unstopped = [w for w in stopped if by_id.get(w, {}).get("state") != "stopped"]
    tally.add("lost", len(unstopped), f"acked stops undone: {unstopped[:3]}")
    for item in items:
        faults = item_shape_faults(item)
        tally.add("impossible", len(faults), "; ".join(faults))
    if final:  # mid-run, an item listed before it stopped and its successor listed after it
        live = Counter(i["data"]["id"] for i in items if i["state"] != "stopped")
        twice = [sid for sid, n in live.items() if n > 1]
        tally.add("impossible", len(twice), f"sessions with two live work items: {twice[:3]}")


def check_sessions(api: Api, ledger: Ledger, tally: Tally, limit: int) -> None:
    expected = ledger.snapshot_sessions()
    with ledger.lock:
        created_meta = dict(ledger.session_meta)
    rows = list_all(api, "/sessions", tally, limit, order="desc")
    seen = {r["id"]: r for r in rows}
    missing = [s for s in expected if s not in seen]
    tally.add("lost", len(missing), f"acked sessions missing: {missing[:3]}")
    wrong = [
        s for s in expected if s in seen and seen[s]["metadata"].get("n") != created_meta.get(s)
    ]
    tally.add("lost", len(wrong), f"sessions lost their create metadata: {wrong[:3]}")


def check_keys(api: Api, ledger: Ledger, tally: Tally, sample: int | None) -> None:
    """Every acked metadata key (or only the ``sample`` keys first written last)."""
    with ledger.lock:
        marks = {k: v.acked for k, v in ledger.keys.items() if v.acked is not None}
    chosen = list(marks.items())[-sample:] if sample else list(marks.items())
    for (path, key), mark in chosen:
        value = api.must("GET", path)["metadata"].get(key)
        with ledger.lock:  # writes acked (or sent) while we read are allowed to show
            allowed = ledger.keys[(path, key)].allowed(mark)
        tally.add("lost", int(value not in allowed), f"{path} {key}={value!r} not in {allowed}")


def check_events(api: Api, ledger: Ledger, sid: str, tally: Tally) -> list[str]:
    with ledger.lock:
        acked = list(ledger.events.get(sid, []))
        tags = set(ledger.event_tags.get(sid, set()))
    rows = list_all(api, f"/sessions/{sid}/events", tally, 100, order="asc")
    ids = [r["id"] for r in rows]
    listed = set(ids)
    lost = [e for e in acked if e not in listed]
    tally.add("lost", len(lost), f"{sid}: acked events missing {lost[:3]}")
    position = {e: i for i, e in enumerate(ids)}
    kept = [position[e] for e in acked if e in position]
    tally.add("reordered", int(kept != sorted(kept)), f"{sid}: acked events out of order")
    texts = [b.get("text") for r in rows for b in r.get("content", [])]
    ours = [t for t in texts if isinstance(t, str) and t.startswith("t")]
    dup = [t for t, n in Counter(ours).items() if n > 1]
    tally.add("duplicated", len(dup), f"{sid}: events stored twice {dup[:3]}")
    strange = [t for t in ours if t not in tags]
    tally.add("impossible", len(strange), f"{sid}: events nobody sent {strange[:3]}")
    return ids


def check_stream(ledger: Ledger, sid: str, listed: list[str], tally: Tally, wait: float) -> None:
    """The SSE reader saw exactly the listed events, in order (after it catches up)."""
    deadline = time.monotonic() + wait
    while True:
        with ledger.lock:
            streamed = list(ledger.sse.get(sid, []))
        if len(streamed) >= len(listed) or time.monotonic() > deadline:
            break
        time.sleep(0.1)  # the stream is catching up; bounded by ``wait``
    tally.add("duplicated", len(streamed) - len(set(streamed)), f"{sid}: SSE sent an event twice")
    missed = [e for e in listed if e not in set(streamed)]
    tally.add("lost", len(missed), f"{sid}: SSE never delivered {missed[:3]}")
    common = [e for e in streamed if e in set(listed)]
    tally.add("reordered", int(common != sorted(common)), f"{sid}: SSE out of order")


def double_owners(ops: list[LeaseOp]) -> list[str]:
    """Items whose leases overlapped: a fenced op of one lease after another lease began."""
    leases: dict[str, dict[tuple[str, str], list[str]]] = defaultdict(dict)
    for op in ops:
        leases[op.work_id].setdefault((op.worker, op.lease), []).append(op.ts)
    out = []
    for work_id, by_lease in leases.items():
        spans = sorted((lease, max(ts), worker) for (worker, lease), ts in by_lease.items())
        for (_, end, who), (start, _, other) in itertools.pairwise(spans):
            if end >= start:
                out.append(f"{work_id}: {who}'s lease ran until {end}, {other}'s began {start}")
    return out


def check_all(
    api: Api, ledger: Ledger, env: str, sids: list[str], final: bool, sample: int | None = None
) -> Tally:
    """Every check; ``final`` once the load stopped; ``sample``: mid-run, read back only the
    metadata keys first written last, that many (``None``: all of them, every time)."""
    tally = Tally()
    limit = 100 if final else 17  # small pages mid-run: many page turns while writes go on
    check_sessions(api, ledger, tally, limit)
    check_work(api, ledger, env, tally, limit, final)
    check_keys(api, ledger, tally, None if final else sample)
    for sid in sids:
        listed = check_events(api, ledger, sid, tally)
        if final:
            check_stream(ledger, sid, listed, tally, wait=30)
    with ledger.lock:
        ops = list(ledger.lease_ops)
    overlaps = double_owners(ops)
    tally.add("double_owner", len(overlaps), "; ".join(overlaps[:3]))
    return tally
