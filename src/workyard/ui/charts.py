"""Per-environment charts of the last hour, drawn on the server as inline SVG (no script, no CDN).

Two series, one bar per minute: items finished (stopped) and the mean queue wait (created → acked)
of the items acknowledged in that minute. Each reads at most ``ROW_LIMIT`` rows from one index.
"""

from __future__ import annotations

from dataclasses import dataclass

from workyard.clock import Instant
from workyard.service.container import Services

__all__ = ["MINUTES", "ROW_LIMIT", "Chart", "Charts", "draw", "load"]

MINUTES = 60
ROW_LIMIT = 5000
_MINUTE_US = 60_000_000
_W, _H, _PAD = 600, 120, 18  # the SVG's user units; the CSS scales it to the page's width


@dataclass(frozen=True)
class Chart:
    title: str
    unit: str
    values: list[float]  # one per minute, oldest first
    capped: bool  # ROW_LIMIT rows were read: older minutes may be missing

    @property
    def peak(self) -> float:
        return max(self.values, default=0.0)

    @property
    def total(self) -> float:
        return sum(self.values)

    @property
    def summary(self) -> str:
        if self.unit == "items":
            return f"{_number(self.total)} in all"
        return f"peak {_number(self.peak)} {self.unit}"

    def svg(self) -> str:
        return draw(self)


@dataclass(frozen=True)
class Charts:
    finished: Chart
    wait: Chart


def _minute(instant: Instant, start: Instant) -> int:
    return (instant - start) // _MINUTE_US


def bucket_counts(times: list[Instant], start: Instant) -> list[float]:
    counts = [0.0] * MINUTES
    for at in times:
        index = _minute(at, start)
        if 0 <= index < MINUTES:
            counts[index] += 1
    return counts


def bucket_means(pairs: list[tuple[Instant, float]], start: Instant) -> list[float]:
    sums, counts = [0.0] * MINUTES, [0] * MINUTES
    for at, value in pairs:
        index = _minute(at, start)
        if 0 <= index < MINUTES:
            sums[index] += value
            counts[index] += 1
    return [s / n if n else 0.0 for s, n in zip(sums, counts, strict=True)]


async def load(svc: Services, env_id: str) -> Charts:
    """The last hour of ``env_id`` (the caller has checked the principal may see it)."""
    now = svc.clock.now()
    start = now - (MINUTES - 1) * _MINUTE_US - now % _MINUTE_US  # whole minutes, this one last
    finished = await svc.store.finished_work(env_id, start, ROW_LIMIT)
    acked = await svc.store.acknowledged_work(env_id, start, ROW_LIMIT)
    stops = [w.stopped_at for w in finished if w.stopped_at is not None]
    waits = [
        (w.acknowledged_at, (w.acknowledged_at - w.created_at) / 1_000_000)
        for w in acked
        if w.acknowledged_at is not None
    ]
    return Charts(
        Chart("Items finished per minute", "items", bucket_counts(stops, start),
              len(finished) >= ROW_LIMIT),
        Chart("Queue wait (mean, per minute)", "s", bucket_means(waits, start),
              len(acked) >= ROW_LIMIT),
    )  # fmt: skip


def _number(value: float) -> str:
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def draw(chart: Chart) -> str:
    """The chart as an ``<svg>`` element: presentation attributes and classes, no style."""
    peak = chart.peak or 1.0
    inner_h = _H - 2 * _PAD
    step = (_W - 2 * _PAD) / MINUTES
    bars = []
    for index, value in enumerate(chart.values):
        if value <= 0:
            continue
        height = max(1.0, value / peak * inner_h)
        x = _PAD + index * step
        y = _PAD + inner_h - height
        label = f"{MINUTES - 1 - index} min ago: {_number(value)} {chart.unit}"
        bars.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{step * 0.8:.1f}" '
            f'height="{height:.1f}"><title>{label}</title></rect>'
        )
    base = _PAD + inner_h
    return (
        f'<svg class="chart" viewBox="0 0 {_W} {_H}" role="img" '
        f'aria-label="{chart.title}: peak {_number(chart.peak)} {chart.unit}" '
        ">"
        f'<line class="axis" x1="{_PAD}" y1="{base}" x2="{_W - _PAD}" y2="{base}"/>'
        f'<text class="label" x="{_PAD}" y="{_PAD - 5}">peak {_number(chart.peak)} '
        f"{chart.unit}</text>"
        f'<text class="label" x="{_PAD}" y="{_H - 3}">60 min ago</text>'
        f'<text class="label end" x="{_W - _PAD}" y="{_H - 3}" text-anchor="end">now</text>'
        + "".join(bars)
        + "</svg>"
    )
