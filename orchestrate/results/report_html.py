"""The static HTML report of a run, drawn from `report.ReportData` by pure functions.

One self-contained file: inline CSS and SVG drawn here, no script, nothing fetched, so it opens
from disk anywhere. Every string from the data is escaped. Its size is bounded whatever the
number of users: it charts at most `CHART_LIMIT` users per hour (the matrix of a hour is never
drawn) and lists at most `TABLE_LIMIT` ranks per hour and method; the export holds every row.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from datetime import date
from html import escape
from typing import Any

from orchestrate.results.report import Component, ReportData, charted_users

CHART_LIMIT = 8
TABLE_LIMIT = 25
METHODS = ("residual", "loading")
WIDTH, HEIGHT = 360, 150
LEFT, RIGHT, TOP, BOTTOM = 40, 8, 10, 30

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em auto;max-width:1200px;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;border-top:1px solid #ccc;padding-top:.8em}
.index{display:grid;grid-template-columns:repeat(12,1fr);gap:4px;margin:1em 0}
.index a,.index span{display:block;padding:.4em;border-radius:4px;text-align:center;text-decoration:none}
.index a{background:#fde0dc;color:#a1221a;font-weight:600}.index span{background:#f2f2f2;color:#888}
.index small{display:block;font-weight:400}
.charts{display:flex;flex-wrap:wrap;gap:1em}figure{margin:0;max-width:360px}figcaption{font-size:.9em;color:#444}
table.ranked{border-collapse:collapse;margin:1em 0}
.ranked th,.ranked td{padding:2px 8px;border-bottom:1px solid #eee;text-align:right}
.ranked td.text,.ranked th.text{text-align:left}
svg text{font:10px system-ui,sans-serif;fill:#444}
.bar{fill:#4a7fb5}.cum{fill:none;stroke:#e08a00;stroke-width:1.5}.hit{fill:#d7301f}
.dashed{fill:none;stroke:#222;stroke-dasharray:4 3}.expected{fill:none;stroke:#222;stroke-width:2}
.axis{fill:none;stroke:#999}
.legend{font-size:.85em;color:#555}
"""


def _number(value: float) -> str:
    """Four significant digits, whole numbers from 10,000 on (never an exponent for those)."""
    return f"{value:.0f}" if abs(value) >= 10_000 else f"{value:.4g}"


def _plot(kind: str, label: str, body: Sequence[str], x_labels: Sequence[tuple[float, str, str]], y_max: float) -> str:
    """An SVG of fixed size: the body, a left axis from 0 to y_max, labels (x, text, text-anchor)
    under the x axis."""
    base = HEIGHT - BOTTOM
    parts = [
        f'<svg class="{kind}" role="img" aria-label="{escape(label)}" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" xmlns="http://www.w3.org/2000/svg"><title>{escape(label)}</title>',
        f'<path class="axis" d="M{LEFT} {TOP}V{base}H{WIDTH - RIGHT}"/>',
        f'<text x="{LEFT - 4}" y="{base}" text-anchor="end">0</text>',
        f'<text x="{LEFT - 4}" y="{TOP + 8}" text-anchor="end">{_number(y_max)}</text>',
        *body,
        *(f'<text x="{x:.1f}" y="{base + 14}" text-anchor="{anchor}">{escape(text)}</text>' for x, text, anchor in x_labels),
        "</svg>",
    ]
    return "".join(parts)


def _bars(heights: Sequence[float], y_max: float, css: str = "bar") -> tuple[float, list[str]]:
    """One path of bars for the heights, on a scale of 0 to y_max; returns the slot width too."""
    slot = (WIDTH - LEFT - RIGHT) / max(len(heights), 1)
    scale = (HEIGHT - BOTTOM - TOP) / y_max
    base = HEIGHT - BOTTOM
    width = max(slot * 0.8, 1)
    path = "".join(
        f"M{LEFT + i * slot + slot * 0.1:.1f} {base}v{-height * scale:.1f}h{width:.1f}v{height * scale:.1f}z"
        for i, height in enumerate(heights)
        if height > 0
    )
    return slot, [f'<path class="{css}" d="{path}"/>'] if path else []


def _y(value: float, y_max: float) -> float:
    return HEIGHT - BOTTOM - value * (HEIGHT - BOTTOM - TOP) / y_max


def scree_svg(components: Sequence[Component]) -> str:
    """Each component's share of the variance (bars) and the running total (line), from 0 to 1."""
    slot, body = _bars([component.proportion for component in components], 1.0)
    total, points = 0.0, []
    for i, component in enumerate(components):
        total += component.proportion
        points.append(f"{LEFT + (i + 0.5) * slot:.1f},{_y(total, 1.0):.1f}")
    body.append(f'<polyline class="cum" points="{" ".join(points)}"/>')
    labels = [(LEFT + 0.5 * slot, "1", "middle")]
    if len(components) > 1:
        labels.append((LEFT + (len(components) - 0.5) * slot, str(components[-1].row_id), "middle"))
    count = f"{len(components)} component{'' if len(components) == 1 else 's'}"
    label = f"Share of the variance of each of the {count} kept, and their running total"
    return _plot("scree", label, body, labels, 1.0)


def _edge_label(x: float, text: str) -> tuple[float, str, str]:
    """A date label centred on x, or held at the plot's edge where centring would cut it off."""
    if x < LEFT + 35:
        return LEFT, text, "start"
    if x > WIDTH - RIGHT - 35:
        return WIDTH - RIGHT, text, "end"
    return x, text, "middle"


def counts_svg(user: str, counts: Sequence[tuple[date, int]], evidence_day: date | None, expected: float | None) -> str:
    """The user's count on each day of the hour (bars) against their own median in that hour
    (dashed); the evidence day in red, with what the model expected that day as a black tick."""
    values = [count for _, count in counts]
    median = float(statistics.median(values)) if values else 0.0
    y_max = max([*values, median, expected or 0.0, 1.0])
    days = [day for day, _ in counts]
    hit = days.index(evidence_day) if evidence_day in days else None
    slot, body = _bars([0 if i == hit else value for i, value in enumerate(values)], y_max)
    body.append(f'<path class="dashed" d="M{LEFT} {_y(median, y_max):.1f}H{WIDTH - RIGHT}"/>')
    labels = [(LEFT, days[0].isoformat(), "start"), (WIDTH - RIGHT, days[-1].isoformat(), "end")] if days else []
    if hit is not None:
        _, hit_bar = _bars([value if i == hit else 0 for i, value in enumerate(values)], y_max, "hit")
        body += hit_bar
        x = LEFT + hit * slot
        if expected is not None:
            body.append(f'<path class="expected" d="M{x:.1f} {_y(expected, y_max):.1f}h{slot:.1f}"/>')
        labels = [label for label in labels if abs(label[0] - x) > 120] + [_edge_label(x + slot / 2, evidence_day.isoformat())]
    label = f"Daily flows of {user} in this hour; dashed: their median, {_number(median)}"
    return _plot("counts", label, body, labels, y_max)


def _cell(value: Any) -> str:
    if value is None:
        return "<td></td>"
    if isinstance(value, (int, float)):
        return f"<td>{_number(value) if isinstance(value, float) else value}</td>"
    return f'<td class="text">{escape(str(value))}</td>'


RANKED_COLUMNS = {
    "method": "method",
    "anomaly_rank": "rank",
    "user_name": "user",
    "score": "score",
    "threshold": "threshold",
    "evidence_day": "evidence day",
    "flow_count": "flows that day",
    "expected_flow_count": "expected",
    "evidence_component": "component",
    "kept_components": "components kept",
}


def ranked_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """The hour's flagged users by method and rank; past TABLE_LIMIT ranks a method says how many more."""
    head = "".join(
        f'<th class="text">{title}</th>' if column in ("method", "user_name", "evidence_day") else f"<th>{title}</th>"
        for column, title in RANKED_COLUMNS.items()
    )
    body = []
    for method in METHODS:
        of_method = [row for row in rows if row["method"] == method]
        body += ["<tr>" + "".join(_cell(row[column]) for column in RANKED_COLUMNS) + "</tr>" for row in of_method[:TABLE_LIMIT]]
        if len(of_method) > TABLE_LIMIT:
            more = len(of_method) - TABLE_LIMIT
            body.append(f'<tr><td class="text" colspan="{len(RANKED_COLUMNS)}">{method}: {more} more in anomalous_users.csv</td></tr>')
    return f'<table class="ranked"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _index(data: ReportData, by_hour: Mapping[int, Sequence[Mapping[str, Any]]]) -> str:
    cells = []
    for hour in range(24):
        rows = by_hour.get(hour, [])
        if rows:
            users = len({row["user_name"] for row in rows})
            per_method = {method: sum(row["method"] == method for row in rows) for method in METHODS}
            counts = " · ".join(f"{method} {count}" for method, count in per_method.items() if count)
            cells.append(f'<a href="#hour-{hour}">{hour:02d}:00<small>{users} flagged</small><small>{counts}</small></a>')
        else:
            state = "none flagged" if hour in data.hours else "no data"
            cells.append(f"<span>{hour:02d}:00<small>{state}</small></span>")
    return f'<nav class="index">{"".join(cells)}</nav>'


def _user_figure(data: ReportData, hour: int, user: str, rows: Sequence[Mapping[str, Any]]) -> str:
    flagged = [row for row in rows if row["user_name"] == user]
    residual = next((row for row in flagged if row["method"] == "residual"), None)
    evidence_day = residual["evidence_day"] if residual else None
    expected = residual["expected_flow_count"] if residual else None
    chart = counts_svg(user, data.counts.get((hour, user), []), evidence_day, expected)
    ranks = ", ".join(f"{row['method']} #{row['anomaly_rank']}" for row in flagged)
    evidence = f"; {residual['flow_count']} flows on {evidence_day.isoformat()}" if residual and evidence_day else ""
    evidence += f", expected {_number(expected)}" if evidence and expected is not None else ""
    return (
        f'<figure class="user-chart" data-user="{escape(user)}">{chart}'
        f"<figcaption><b>{escape(user)}</b>: {ranks}{evidence}</figcaption></figure>"
    )


def _hour_section(data: ReportData, hour: int, rows: Sequence[Mapping[str, Any]], users: Sequence[str]) -> str:
    size = data.hours.get(hour)
    shape = f"{size.days} days x {size.users} users" if size else "no input"
    kept = next((row["kept_components"] for row in rows if row["method"] == "residual"), None)
    subspace = f"; the residual method's normal subspace: {kept} components of its own PCA" if kept is not None else ""
    scree = scree_svg(data.scree[hour]) if data.scree.get(hour) else "<p>No components.</p>"
    flagged = len({row["user_name"] for row in rows})
    shown = f"<p>Charts of the first {len(users)} of the {flagged} flagged users, by rank.</p>" if len(users) < flagged else ""
    return (
        f'<section id="hour-{hour}"><h2>{hour:02d}:00–{hour:02d}:59 · {shape}</h2>'
        f"<div class=\"charts\"><figure>{scree}<figcaption>Variance by component of this hour's counts (pca_components){subspace}</figcaption></figure>"
        f'{"".join(_user_figure(data, hour, user, rows) for user in users)}</div>'
        f"{shown}"
        f"{ranked_table(rows)}</section>"
    )


LEGEND = (
    '<p class="legend">Per hour of the day: the scree plot (bars: each component\'s share of the variance; '
    "line: running total), then each flagged user's daily "
    "flow count in that hour (bars) against their own median in that hour (dashed line); the residual "
    "method's evidence day in red, with what the model expected that day as a black tick.</p>"
)


def render_report(data: ReportData) -> str:
    """The whole report as one HTML document."""
    by_hour: dict[int, list[Mapping[str, Any]]] = {}
    for row in data.anomalies:
        by_hour.setdefault(row["hour_of_day"], []).append(row)
    charted = charted_users(data.anomalies, CHART_LIMIT)
    title = f"netflow_pca: anomalous users, run of {data.run_date.isoformat()}"
    sections = "".join(_hour_section(data, hour, rows, charted[hour]) for hour, rows in sorted(by_hour.items()))
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{STYLE}</style></head><body><h1>{title}</h1>{LEGEND}{_index(data, by_hour)}"
        f"{sections or '<p>No anomalous users.</p>'}</body></html>\n"
    )
