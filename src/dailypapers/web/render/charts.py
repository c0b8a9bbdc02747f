"""Charts drawn on the server as inline SVG: no script, no external request, styled by style.css.

Every piece of text goes through `escape`; shapes carry classes, never style attributes (the CSP
allows no inline styles)."""

from __future__ import annotations

import datetime as dt
import math

from markupsafe import Markup, escape

from dailypapers.models import DailyEntry

W, H = 640, 220
PAD_L, PAD_R, PAD_T, PAD_B = 44, 12, 14, 34


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exp:
            return step * exp
    return 10 * exp


def _frame(title: str, body: list[str], y_max: float, width: int = W, height: int = H) -> Markup:
    inner_h = height - PAD_T - PAD_B
    grid = []
    for i in range(5):
        value = y_max * i / 4
        y = PAD_T + inner_h - inner_h * i / 4
        label = f"{value:,.0f}" if y_max >= 4 else f"{value:.1f}"
        grid.append(f'<line class="grid" x1="{PAD_L}" x2="{width - PAD_R}" y1="{y:.1f}" y2="{y:.1f}"/>'
                    f'<text class="axis" x="{PAD_L - 6}" y="{y + 4:.1f}" text-anchor="end">{label}</text>')
    svg = (f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
           f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>{"".join(grid)}{"".join(body)}</svg>')
    return Markup(svg)


def bars(title: str, items: list[tuple[str, int]], label_every: int = 1) -> Markup:
    """Vertical bars, one per item (e.g. per day), labelled every `label_every` items."""
    width, height = W, H
    inner_w, inner_h = width - PAD_L - PAD_R, height - PAD_T - PAD_B
    y_max = _nice_max(max((v for _, v in items), default=0))
    step = inner_w / max(1, len(items))
    body = []
    for i, (label, value) in enumerate(items):
        h = inner_h * value / y_max
        x = PAD_L + i * step
        body.append(f'<rect class="bar" x="{x + step * 0.1:.1f}" y="{PAD_T + inner_h - h:.1f}" '
                    f'width="{max(step * 0.8, 0.5):.1f}" height="{h:.1f}">'
                    f'<title>{escape(label)}: {value:,}</title></rect>')
        if i % label_every == 0:
            body.append(f'<text class="axis" x="{x + step / 2:.1f}" y="{height - PAD_B + 16}" '
                        f'text-anchor="middle">{escape(label)}</text>')
    return _frame(title, body, y_max, width, height)


def hbars(title: str, items: list[tuple[str, int]]) -> Markup:
    """Horizontal bars with their labels, for rankings such as top categories."""
    row, label_w, width = 24, 110, W
    height = PAD_T + row * len(items) + 8
    v_max = max((v for _, v in items), default=1) or 1
    body = []
    for i, (label, value) in enumerate(items):
        y = PAD_T + i * row
        w = (width - label_w - 80) * value / v_max
        body.append(f'<text class="axis" x="{label_w - 8}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
                    f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 8}"/>'
                    f'<text class="value" x="{label_w + w + 6:.1f}" y="{y + 15}">{value:,}</text>')
    svg = (f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
           f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>{"".join(body)}</svg>')
    return Markup(svg)


def upvotes_over_time(entry: DailyEntry | None, vote_times: list[dt.datetime], now: dt.datetime) -> Markup:
    """A step line: the imported baseline from the list day on, plus one step per local vote."""
    baseline = entry.upvotes if entry else 0
    start = dt.datetime.combine(entry.date, dt.time(), dt.timezone.utc) if entry else vote_times[0]
    start = min([start, *vote_times[:1]])
    end = max(now, start + dt.timedelta(hours=1), *vote_times[-1:])
    total = baseline + len(vote_times)
    y_max = _nice_max(total)
    inner_w, inner_h = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    span = (end - start).total_seconds()

    def x(t: dt.datetime) -> float:
        return PAD_L + inner_w * (t - start).total_seconds() / span

    def y(v: float) -> float:
        return PAD_T + inner_h - inner_h * v / y_max

    points, level = [(x(start), y(baseline))], baseline
    for t in vote_times:
        points.append((x(t), y(level)))
        level += 1
        points.append((x(t), y(level)))
    points.append((x(end), y(level)))
    path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
    body = [f'<polyline class="line" points="{path}"/>',
            f'<line class="baseline" x1="{PAD_L}" x2="{W - PAD_R}" y1="{y(baseline):.1f}" y2="{y(baseline):.1f}"/>']
    for t, anchor in ((start, "start"), (end, "end")):
        body.append(f'<text class="axis" x="{x(t):.1f}" y="{H - PAD_B + 16}" text-anchor="{anchor}">'
                    f'{t:%Y-%m-%d}</text>')
    title = f"Upvotes over time: {baseline} imported, {len(vote_times)} local, {total} in all"
    return _frame(title, body, y_max)
