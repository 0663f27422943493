"""The static HTML report of a run, drawn from `report.ReportData` by pure functions.

One self-contained file: inline CSS and SVG drawn here, no script, nothing fetched, so it opens
from disk anywhere. It reads from the top: what the results describe (the build's provenance),
what each method flagged and what its score means, one ranked list of the run's anomalies
across hours, a days x hours map of the whole window, then the hours one by one.

Every string from the data is escaped, with its hidden characters made visible and long names
cut (`orchestrate.display`). Its size is bounded whatever the data: at most `RANKED_LIMIT` rows
in the ranked list, `CHART_LIMIT` charts and `TABLE_LIMIT` ranks per hour and method, and a map
of at most `MAP_COLUMNS` columns of days; the export holds every row.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from html import escape
from math import log2
from typing import Any

from orchestrate.results.display import clean_number, number_text, visible, visible_parts
from orchestrate.results.report import (
    PROJECT_DIR,
    Build,
    Component,
    HeatCell,
    ReportData,
    blind_pairs,
    charted_users,
    method_lines,
    method_summaries,
    ranked,
)

CHART_LIMIT = 8
TABLE_LIMIT = 25
RANKED_LIMIT = 50
# rows of a method where it does not discriminate, listed after the others
BLIND_LIMIT = 10
MAP_COLUMNS = 366
METHODS = ("residual", "loading")
WIDTH, HEIGHT = 360, 150
LEFT, RIGHT, TOP, BOTTOM = 40, 8, 10, 30
# a bar taller than this many times the next tallest (or the median, or the expected count) is
# cut at the top of the chart, so that it does not flatten the other days to nothing
CLIP_RATIO = 3.0
SCORING_DOC = (PROJECT_DIR / "docs" / "scoring.md").as_uri()

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em auto;max-width:1200px;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;border-top:1px solid #ccc;padding-top:.8em}
dl.provenance{display:grid;grid-template-columns:max-content 1fr;gap:2px 1em;margin:.5em 0}
dl.provenance dt{font-weight:600;color:#555}dl.provenance dd{margin:0}
.note{background:#fff7e0;border-left:3px solid #e0a800;padding:.3em .6em}
.index{display:grid;grid-template-columns:repeat(12,1fr);gap:4px;margin:1em 0}
.index a,.index span{display:block;padding:.4em;border-radius:4px;text-align:center;text-decoration:none}
.index a{background:#fde0dc;color:#a1221a;font-weight:600}.index a.blind{background:#eee;color:#555;font-weight:400}
.index span{background:#f2f2f2;color:#888}.index small{display:block;font-weight:400}
.charts{display:flex;flex-wrap:wrap;gap:1em}figure{margin:0;max-width:360px}figcaption{font-size:.9em;color:#444}
table{border-collapse:collapse;margin:1em 0}
th,td{padding:2px 8px;border-bottom:1px solid #eee;text-align:right}
td.text,th.text{text-align:left}tr.blind td{color:#888}
tr.new td>bdi::after,b.new{content:"new";margin-left:.4em;padding:0 .3em;font-size:.8em;font-weight:600;color:#fff;background:#a1221a}
.ctl{color:#a1221a;font-family:monospace;background:#fde0dc}
svg text{font:10px system-ui,sans-serif;fill:#444}
.bar{fill:#4a7fb5}.cum{fill:none;stroke:#e08a00;stroke-width:1.5}.hit{fill:#d7301f}
.dashed{fill:none;stroke:#222;stroke-dasharray:4 3}.expected{fill:none;stroke:#222;stroke-width:2}
.axis{fill:none;stroke:#999}.cut{fill:#fff;stroke:#fff;stroke-width:2}
svg text.halo{paint-order:stroke;stroke:#fff;stroke-width:3px;fill:#222}
.burst{fill:#d7301f;stroke:#5c0d06;stroke-width:1}
.legend{font-size:.85em;color:#555}
"""


def _name(text: str) -> str:
    """A user name as HTML: escaped, hidden characters as marked escapes, isolated from the
    text around it (bdi), cut when long."""
    parts = (f'<span class="ctl">{escape(piece)}</span>' if is_escape else escape(piece) for piece, is_escape in visible_parts(text))
    return f"<bdi>{''.join(parts)}</bdi>"


def _attribute(text: str) -> str:
    """A user name for an attribute: visible and cut, escaped with its quotes."""
    return escape(visible(text))


def _plot(kind: str, label: str, body: Sequence[str], x_labels: Sequence[tuple[float, str, str]], y_max: float) -> str:
    """An SVG of fixed size: the body, a left axis from 0 to y_max, labels (x, text, text-anchor)
    under the x axis. The label is plain text: it is escaped here."""
    base = HEIGHT - BOTTOM
    parts = [
        f'<svg class="{kind}" role="img" aria-label="{escape(label)}" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" xmlns="http://www.w3.org/2000/svg"><title>{escape(label)}</title>',
        f'<path class="axis" d="M{LEFT} {TOP}V{base}H{WIDTH - RIGHT}"/>',
        f'<text x="{LEFT - 4}" y="{base}" text-anchor="end">0</text>',
        f'<text x="{LEFT - 4}" y="{TOP + 8}" text-anchor="end">{number_text(y_max)}</text>',
        *body,
        *(f'<text x="{x:.1f}" y="{base + 14}" text-anchor="{anchor}">{escape(text)}</text>' for x, text, anchor in x_labels),
        "</svg>",
    ]
    return "".join(parts)


def _bars(heights: Sequence[float], y_max: float, css: str = "bar") -> tuple[float, list[str]]:
    """One path of bars for the heights, on a scale of 0 to y_max (taller ones end at the top);
    returns the slot width too."""
    slot = (WIDTH - LEFT - RIGHT) / max(len(heights), 1)
    scale = (HEIGHT - BOTTOM - TOP) / y_max
    base = HEIGHT - BOTTOM
    width = max(slot * 0.8, 1)
    path = "".join(
        f"M{LEFT + i * slot + slot * 0.1:.1f} {base}v{-min(height, y_max) * scale:.1f}h{width:.1f}v{min(height, y_max) * scale:.1f}z"
        for i, height in enumerate(heights)
        if height > 0
    )
    return slot, [f'<path class="{css}" d="{path}"/>'] if path else []


def _y(value: float, y_max: float) -> float:
    return HEIGHT - BOTTOM - min(value, y_max) * (HEIGHT - BOTTOM - TOP) / y_max


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


def chart_scale(values: Sequence[float], median: float, expected: float | None) -> float:
    """The top of a chart's axis: the tallest bar, unless it is more than CLIP_RATIO times
    everything else the chart shows; then a little above the rest, and the tallest is cut."""
    ordered = sorted(values, reverse=True)
    rest = max([*ordered[1:2], median, expected or 0.0, 1.0])
    tallest = ordered[0] if ordered else 0.0
    return max(tallest, 1.0) if tallest <= CLIP_RATIO * rest else rest * 1.25


def counts_svg(user: str, counts: Sequence[tuple[date, int]], evidence_day: date | None, expected: float | None) -> str:
    """The user's count on each day of the hour (bars) against their own median in that hour
    (dashed, labelled); the evidence day in red, with what the model expected that day as a
    black tick. A bar far taller than the rest is cut at the top, with its value written."""
    values = [count for _, count in counts]
    median = float(statistics.median(values)) if values else 0.0
    expected = clean_number(expected) if expected is not None else None
    y_max = chart_scale(values, median, expected)
    days = [day for day, _ in counts]
    hit = days.index(evidence_day) if evidence_day in days else None
    slot, body = _bars([0 if i == hit else value for i, value in enumerate(values)], y_max)
    median_y = _y(median, y_max)
    body.append(f'<path class="dashed" d="M{LEFT} {median_y:.1f}H{WIDTH - RIGHT}"/>')
    body.append(f'<text class="halo" x="{LEFT + 3}" y="{median_y - 3:.1f}">median {number_text(median)}</text>')
    labels = [(LEFT, days[0].isoformat(), "start"), (WIDTH - RIGHT, days[-1].isoformat(), "end")] if days else []
    if hit is not None:
        _, hit_bar = _bars([value if i == hit else 0 for i, value in enumerate(values)], y_max, "hit")
        body += hit_bar
        x = LEFT + hit * slot
        if expected is not None:
            body.append(f'<path class="expected" d="M{x:.1f} {_y(expected, y_max):.1f}h{slot:.1f}"/>')
        labels = [label for label in labels if abs(label[0] - x) > 120] + [_edge_label(x + slot / 2, evidence_day.isoformat())]
    for i, value in enumerate(values):
        if value > y_max:
            # a white break across the cut bar, and its value above it
            x = LEFT + i * slot + slot / 2
            body.append(f'<path class="cut" d="M{x - slot * 0.45:.1f} {TOP + 9}l{slot * 0.9:.1f} -4"/>')
            body.append(f'<text x="{min(max(x, LEFT + 12), WIDTH - RIGHT - 12):.1f}" y="{TOP - 1}" text-anchor="middle">{value}</text>')
    label = f"Daily flows of {visible(user)} in this hour; dashed: their median, {number_text(median)}"
    return _plot("counts", label, body, labels, y_max)


def _cell(value: Any, css: str = "") -> str:
    if value is None:
        return "<td></td>"
    if isinstance(value, float):
        return f"<td>{number_text(value)}</td>"
    if isinstance(value, int):
        return f"<td>{value}</td>"
    if isinstance(value, date):
        return f'<td class="text">{value.isoformat()}</td>'
    return f'<td class="text{css}">{escape(str(value))}</td>'


def _user_cell(user: str) -> str:
    return f'<td class="text">{_name(user)}</td>'


RANKED_COLUMNS = {
    "method": "method",
    "anomaly_rank": "rank",
    "user_name": "user",
    "score": "score",
    "threshold": "threshold",
    "evidence_day": "evidence day",
    "first_evidence_day": "run from",
    "last_evidence_day": "run to",
    "flow_count": "flows that day",
    "expected_flow_count": "expected",
    "evidence_component": "component",
    "kept_components": "components kept",
}
TEXT_HEADINGS = frozenset({"method", "user_name", "evidence_day", "first_evidence_day", "last_evidence_day", "hour_of_day"})


def _head(columns: Mapping[str, str]) -> str:
    return "".join(
        f'<th class="text">{title}</th>' if column in TEXT_HEADINGS else f"<th>{title}</th>" for column, title in columns.items()
    )


def _row(row: Mapping[str, Any], columns: Iterable[str], css: str = "") -> str:
    cells = "".join(_user_cell(row[column]) if column == "user_name" else _cell(row[column]) for column in columns)
    return f'<tr class="{css}">{cells}</tr>' if css else f"<tr>{cells}</tr>"


def ranked_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """The hour's flagged users by method and rank; past TABLE_LIMIT ranks a method says how many more."""
    body = []
    for method in METHODS:
        of_method = [row for row in rows if row["method"] == method]
        body += [_row(row, RANKED_COLUMNS, "new" if row.get("is_new") else "") for row in of_method[:TABLE_LIMIT]]
        if len(of_method) > TABLE_LIMIT:
            more = len(of_method) - TABLE_LIMIT
            body.append(f'<tr><td class="text" colspan="{len(RANKED_COLUMNS)}">{method}: {more} more in anomalous_users.csv</td></tr>')
    return f'<table class="ranked"><thead><tr>{_head(RANKED_COLUMNS)}</tr></thead><tbody>{"".join(body)}</tbody></table>'


ALL_HOURS_COLUMNS = {
    "user_name": "user",
    "hour_of_day": "hour",
    "evidence_day": "day",
    "flow_count": "flows",
    "expected_flow_count": "expected",
    "score": "score",
    "threshold": "threshold",
    "times_threshold": "× threshold",
    "method": "method",
}


def ranked_list(rows: Sequence[Mapping[str, Any]]) -> str:
    """The run's anomalies across all hours in one list (report.ranked's order)."""
    if not rows:
        return '<section id="ranked"><h2>Anomalies, ranked</h2><p>No anomalous users.</p></section>'
    telling = [row for row in rows if not row["blind"]][:RANKED_LIMIT]
    shown = telling + [row for row in rows if row["blind"]][: BLIND_LIMIT if telling else RANKED_LIMIT]
    body = [
        _row({**row, "hour_of_day": f"{row['hour_of_day']:02d}:00"}, ALL_HOURS_COLUMNS,
             " ".join(css for css, on in (("blind", row["blind"]), ("new", row.get("is_new"))) if on))
        for row in shown
    ]
    new = sum(1 for row in rows if row.get("is_new"))
    novelty = (
        f"<p class=legend>{new} of them new: first raised by this run (marked <b class=new>new</b>); the others were raised "
        "by the runs of earlier days and stay in anomaly_history.</p>"
        if any(row.get("is_new") is not None for row in rows) else ""
    )
    more = f"<p>{len(rows) - len(shown)} more in anomalous_users.csv.</p>" if len(rows) > len(shown) else ""
    blind = (
        "<p class=legend>Grey rows: a method that flags so many of that hour's users that it does not tell them apart there.</p>"
        if any(row["blind"] for row in shown) else ""
    )
    return (
        f'<section id="ranked"><h2>Anomalies, ranked ({len(rows)} in all)</h2>'
        "<p class=legend>Across hours and methods, by how many times its threshold the score is; "
        "the day, flows and expected flows are the residual method's evidence.</p>"
        f"{novelty}"
        f'<table class="ranked-all"><thead><tr>{_head(ALL_HOURS_COLUMNS)}</tr></thead><tbody>{"".join(body)}</tbody></table>'
        f"{more}{blind}</section>"
    )


def _hours_text(hours: Sequence[int]) -> str:
    """'all 24 hours', 'hour 12' or 'hours 0-5, 18' for a sorted list of hours."""
    if len(hours) == 24:
        return "all 24 hours"
    spans: list[list[int]] = []
    for hour in hours:
        if spans and hour == spans[-1][1] + 1:
            spans[-1][1] = hour
        else:
            spans.append([hour, hour])
    text = ", ".join(f"{first}" if first == last else f"{first}-{last}" for first, last in spans)
    return f"hour{'' if len(hours) == 1 else 's'} {text}"


def _window_text(build: Build) -> str:
    asked = f"run_date {build.run_date.isoformat()}" if build.run_date else "run_date: the last day of the data"
    if build.window_first_day is None or build.window_last_day is None:
        return f"no data ({build.lookback_days} days up to {asked})"
    return (
        f"{build.window_first_day.isoformat()} to {build.window_last_day.isoformat()}, {build.window_days} days with data "
        f"({build.lookback_days} days up to {asked})"
    )


def provenance_section(data: ReportData) -> str:
    """What the results describe: the source, the window, the settings and what was counted,
    from the latest build in pipeline_runs; and the hours whose rows come from other builds."""
    build = data.provenance.latest
    methods = ", ".join(f'<a href="#method-{method}">{method}</a> (threshold {number_text(threshold)})'
                        for method, threshold in build.thresholds.items())
    given = ", ".join(f"{escape(name)}: {escape(visible(str(value)))}" for name, value in data.differing_vars.items()) or "none"
    hours = sorted(hour for hour, source in data.provenance.by_hour.items() if source.describes == build.describes)
    facts = {
        "Source": f"{escape(visible(build.source_relation, 200))}, user column {escape(visible(build.user_column))}, "
                  f"time column {escape(visible(build.time_column))}",
        "Window": escape(_window_text(build)),
        "Time zone": escape(build.timezone),
        "Methods": methods,
        "PCA": f"backend {escape(build.pca_backend)}, variance_target {escape(build.variance_target)}",
        "Counted": f"{build.events_counted:,} flows, {build.users_counted:,} users, {build.cells_counted:,} (hour, day, user) cells",
        "Built": f"{build.run_started_at:%Y-%m-%d %H:%M:%S %Z}, {_hours_text(hours)} (dbt invocation {escape(build.invocation_id)})",
        "Vars given": given,
    }
    items = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in facts.items())
    others = "".join(
        f'<p class="note">The rows of {_hours_text(hours)} come from an earlier build, of '
        f"{other.run_started_at:%Y-%m-%d %H:%M %Z}: {escape(other.source_relation)}, window {escape(_window_text(other))}, "
        f"methods {escape(', '.join(other.scoring_methods))}.</p>"
        for other, hours in data.provenance.other_builds()
    )
    return f'<section id="provenance"><dl class="provenance">{items}</dl>{others}</section>'


METHOD_TEXT = {
    "residual": (
        "A user's score in an hour is their largest <em>evidence</em> over the window's days: how far that day's "
        "flows lie from what the hour's <em>normal subspace</em> predicts (the patterns the hour's users share, "
        "fitted by a PCA of each user's deviations from their own typical level, with individual bursts left "
        "out), in units of that user's usual distance from it. A score of 30 means the day lies 30 such units off "
        "the prediction; a user is flagged above the threshold. \"Normal subspace: k components\" is how many "
        "shared patterns the hour holds (0: none beyond noise, so each user is compared with their own level). "
        "It names the day, and what the model expected that day."
    ),
    "loading": (
        "A user's score in an hour is their largest absolute entry in the principal components that keep "
        "variance_target of the hour's variance: how strongly the user drives one of the hour's main patterns. "
        "A user is flagged above the threshold. It names a component, not a day. On few users every user "
        "carries a large entry, so it flags most of them."
    ),
}


def methods_section(data: ReportData) -> str:
    """Each method's count, where it does not discriminate, and what its score means."""
    build = data.provenance.latest
    summaries = method_summaries(data.anomalies, data.hours, build.scoring_methods)
    lines = dict(zip((summary.method for summary in summaries), method_lines(summaries, build.thresholds)))
    parts = [
        f'<p id="method-{method}"><b>{escape(lines[method])}.</b> {METHOD_TEXT[method]}</p>'
        for method in build.scoring_methods
        if method in METHOD_TEXT
    ]
    return (
        f'<section id="methods"><h2>What was flagged, and what the scores mean</h2>{"".join(parts)}'
        f'<p class="legend">The methods in full: <a href="{SCORING_DOC}">docs/scoring.md</a>.</p></section>'
    )


def _activity_colour(ratio: float) -> str:
    """A colour for the flows of an hour on a day against the hour's usual day: white for as usual,
    blue for fewer, violet for more, saturating at a quarter and at four times."""
    strength = min(abs(log2(max(ratio, 1 / 16))) / 2, 1.0)
    if ratio < 1:
        red, green, blue = 49, 130, 189
    else:
        red, green, blue = 117, 62, 163
    mix = [round(255 + (channel - 255) * strength) for channel in (red, green, blue)]
    return f"#{mix[0]:02x}{mix[1]:02x}{mix[2]:02x}"


def heat_map(data: ReportData, threshold: float | None) -> str:
    """The window at a glance: days across, hours down. A cell's colour is the flows of all users
    in that hour that day against the hour's median day (a collective event: a row or a column
    of colour); a red dot is a day the residual method flags, larger with more evidence (a
    burst: a dot)."""
    days = sorted({cell.day for cell in data.heat})
    if not days:
        return '<section id="heatmap"><h2>The window at a glance</h2><p>No data in the window.</p></section>'
    calendar = [days[0] + timedelta(days=i) for i in range((days[-1] - days[0]).days + 1)]
    columns = min(len(calendar), MAP_COLUMNS)
    column_of = {day: i * columns // len(calendar) for i, day in enumerate(calendar)}
    cell_w = max(min(900 / columns, 40), 2.0)
    cell_h, left, top = 14, 44, 18
    flows: dict[tuple[int, int], int] = {}
    strongest: dict[tuple[int, int], HeatCell] = {}
    for cell in data.heat:
        key = (cell.hour_of_day, column_of[cell.day])
        flows[key] = flows.get(key, 0) + cell.flows
        if cell.evidence is not None and (key not in strongest or cell.evidence > (strongest[key].evidence or 0)):
            strongest[key] = cell
    usual = {
        hour: statistics.median([flows.get((hour, column), 0) for column in range(columns)]) for hour in range(24)
    }
    by_colour: dict[str, list[str]] = {}
    for hour in range(24):
        for column in range(columns):
            count = flows.get((hour, column), 0)
            if usual[hour] == 0 and count == 0:
                continue
            ratio = count / usual[hour] if usual[hour] else 4.0
            colour = _activity_colour(ratio)
            if colour != "#ffffff":
                x, y = left + column * cell_w, top + hour * cell_h
                by_colour.setdefault(colour, []).append(f"M{x:.1f} {y}h{cell_w:.1f}v{cell_h}h{-cell_w:.1f}z")
    shapes = [f'<path fill="{colour}" d="{"".join(paths)}"/>' for colour, paths in sorted(by_colour.items())]
    dots = []
    for (hour, column), cell in sorted(strongest.items()):
        if threshold is None or cell.flagged == 0 or cell.evidence is None:
            continue
        radius = min(cell_h, cell_w) / 2 * min(0.5 + log2(max(cell.evidence / threshold, 1)) / 8, 1.0)
        more = f" and {cell.flagged - 1} more flagged" if cell.flagged > 1 else ""
        title = (f"{cell.day.isoformat()} {hour:02d}:00, {visible(cell.top_user or '')}{more}: "
                 f"evidence {number_text(cell.evidence)} (threshold {number_text(threshold)})")
        dots.append(
            f'<circle class="burst" data-day="{cell.day.isoformat()}" data-hour="{hour}" '
            f'cx="{left + (column + 0.5) * cell_w:.1f}" cy="{top + (hour + 0.5) * cell_h:.1f}" r="{max(radius, 2):.1f}">'
            f"<title>{escape(title)}</title></circle>"
        )
    width, height = left + columns * cell_w + 10, top + 24 * cell_h + 20
    hour_labels = "".join(
        f'<text x="{left - 4}" y="{top + (hour + 0.75) * cell_h:.1f}" text-anchor="end">{hour:02d}:00</text>'
        for hour in range(0, 24, 3)
    )
    day_labels = "".join(
        f'<text x="{x:.1f}" y="{top - 5}" text-anchor="{anchor}">{day.isoformat()}</text>'
        for day, x, anchor in (
            (calendar[0], left, "start"),
            (calendar[len(calendar) // 2], left + (column_of[calendar[len(calendar) // 2]] + 0.5) * cell_w, "middle"),
            (calendar[-1], left + columns * cell_w, "end"),
        )[:: 1 if columns * cell_w >= 300 else 2]
    )
    grid = f'<rect x="{left}" y="{top}" width="{columns * cell_w:.1f}" height="{24 * cell_h}" fill="none" stroke="#ccc"/>'
    binned = f" Each column holds {len(calendar) / columns:.1f} days." if columns < len(calendar) else ""
    no_dots = (" The residual method did not run, so no day is marked." if threshold is None else "")
    return (
        '<section id="heatmap"><h2>The window at a glance</h2>'
        f'<svg class="heatmap" role="img" aria-label="Days by hours of the window" width="{width:.0f}" height="{height}" '
        f'viewBox="0 0 {width:.0f} {height}" xmlns="http://www.w3.org/2000/svg">'
        f'{"".join(shapes)}{grid}{hour_labels}{day_labels}{"".join(dots)}</svg>'
        '<p class="legend">Days across, hours of the day down. Colour: the flows of all users in that hour on that '
        "day against the hour's median day (blue: fewer, violet: more; white: as usual), so an event shared by many "
        "users is a row or a column of colour. A red dot: a day the residual method flags, larger with more "
        f"evidence, so an individual burst is a dot. Hover a dot for the user.{binned}{no_dots}</p></section>"
    )


def _index(data: ReportData, by_hour: Mapping[int, Sequence[Mapping[str, Any]]], blind: set[tuple[str, int]]) -> str:
    cells = []
    for hour in range(24):
        rows = by_hour.get(hour, [])
        if rows:
            users = len({row["user_name"] for row in rows})
            per_method = {method: sum(row["method"] == method for row in rows) for method in METHODS}
            counts = " · ".join(f"{method} {count}" for method, count in per_method.items() if count)
            css = ' class="blind"' if all((row["method"], hour) in blind for row in rows) else ""
            cells.append(f'<a href="#hour-{hour}"{css}>{hour:02d}:00<small>{users} flagged</small><small>{counts}</small></a>')
        else:
            state = "none flagged" if hour in data.hours else "no data"
            cells.append(f"<span>{hour:02d}:00<small>{state}</small></span>")
    return (
        f'<nav class="index">{"".join(cells)}</nav>'
        "<p class=legend>Red: an hour with flags from a method that discriminates there; grey: flags only from "
        "a method that flags most of the hour's users.</p>"
    )


def _user_figure(data: ReportData, hour: int, user: str, rows: Sequence[Mapping[str, Any]]) -> str:
    flagged = [row for row in rows if row["user_name"] == user]
    residual = next((row for row in flagged if row["method"] == "residual"), None)
    evidence_day = residual["evidence_day"] if residual else None
    expected = residual["expected_flow_count"] if residual else None
    counts = data.counts.get((hour, user), [])
    chart = counts_svg(user, counts, evidence_day, expected)
    ranks = ", ".join(f"{row['method']} #{row['anomaly_rank']}" for row in flagged)
    evidence = f"; {residual['flow_count']} flows on {evidence_day.isoformat()}" if residual and evidence_day else ""
    evidence += f", expected {number_text(expected)}" if evidence and expected is not None else ""
    median = f"; median {number_text(float(statistics.median(count for _, count in counts)))} a day" if counts else ""
    return (
        f'<figure class="user-chart" data-user="{_attribute(user)}">{chart}'
        f"<figcaption><b>{_name(user)}</b>: {ranks}{evidence}{median}</figcaption></figure>"
    )


def _hour_section(data: ReportData, hour: int, rows: Sequence[Mapping[str, Any]], users: Sequence[str], blind: set[tuple[str, int]]) -> str:
    size = data.hours.get(hour)
    shape = f"{size.days} days x {size.users} users" if size else "no input"
    kept = next((row["kept_components"] for row in rows if row["method"] == "residual"), None)
    subspace = (f"; the residual method's normal subspace: {kept} components of its own PCA "
                '(<a href="#method-residual">what this means</a>)' if kept is not None else "")
    scree = scree_svg(data.scree[hour]) if data.scree.get(hour) else "<p>No components.</p>"
    flagged = len({row["user_name"] for row in rows})
    shown = f"<p>Charts of the first {len(users)} of the {flagged} flagged users, by rank.</p>" if len(users) < flagged else ""
    notes = "".join(
        f'<p class="note">{method} flags {sum(row["method"] == method for row in rows)} of the hour\'s '
        f"{size.users if size else '?'} users: it does not discriminate here.</p>"
        for method in METHODS
        if (method, hour) in blind
    )
    return (
        f'<section id="hour-{hour}"><h2>{hour:02d}:00–{hour:02d}:59 · {shape}</h2>{notes}'
        f"<div class=\"charts\"><figure>{scree}<figcaption>Variance by component of this hour's counts (pca_components){subspace}</figcaption></figure>"
        f'{"".join(_user_figure(data, hour, user, rows) for user in users)}</div>'
        f"{shown}"
        f"{ranked_table(rows)}</section>"
    )


LEGEND = (
    '<p class="legend">Per hour of the day: the scree plot (bars: each component\'s share of the variance; '
    "line: running total), then each flagged user's daily flow count in that hour (bars) against their own "
    "median in that hour (dashed line, labelled); the residual method's evidence day in red, with what the "
    "model expected that day as a black tick. A bar far taller than the others is cut at the top of the "
    "chart, with its count written above it.</p>"
)


def render_report(data: ReportData) -> str:
    """The whole report as one HTML document."""
    by_hour: dict[int, list[Mapping[str, Any]]] = {}
    for row in data.anomalies:
        by_hour.setdefault(row["hour_of_day"], []).append(row)
    build = data.provenance.latest
    summaries = method_summaries(data.anomalies, data.hours, build.scoring_methods)
    blind = blind_pairs(summaries)
    charted = charted_users(data.anomalies, CHART_LIMIT, blind)
    day = data.provenance.day
    title = f"netflow_pca: anomalous users, {escape(visible(build.source_relation, 200))}, {day.isoformat() if day else 'no data'}"
    sections = "".join(_hour_section(data, hour, rows, charted[hour], blind) for hour, rows in sorted(by_hour.items()))
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{STYLE}</style></head><body><h1>{title}</h1>"
        f"{provenance_section(data)}{methods_section(data)}{ranked_list(ranked(data.anomalies, summaries))}"
        f"{heat_map(data, build.residual_threshold)}"
        f"<h2>By hour of the day</h2>{LEGEND}{_index(data, by_hour, blind)}"
        f"{sections or '<p>No anomalous users.</p>'}</body></html>\n"
    )
