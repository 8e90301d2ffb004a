"""Bar charts for the quarantine dashboard, drawn on the server as inline SVG: no JavaScript
library and no CDN, so the dashboard renders the same offline, in a test client and in print.

Each function returns markup that is safe to insert (every label is escaped). Bars carry a
<title> (the browser's tooltip) and the class `bar`, and each chart a role and a label for
screen readers.
"""

from django.utils.html import escape
from django.utils.safestring import mark_safe

# One colour per age bucket, youngest first: from calm to alarming.
BUCKET_COLOURS = ("#4c9a6a", "#d8b13a", "#e07b39", "#c0392b")
BAR_COLOUR = "#3f6fb5"
TEXT = 'font-family="system-ui, sans-serif" font-size="12" fill="#333"'


def stacked_bars(rows, series, title, width=640, label_width=210, bar_height=18, gap=6):
    """Horizontal stacked bars: `rows` is [(label, [value per series])], `series` is
    [(name, colour)]. A legend sits above the bars; each row ends with its total."""
    top = 26
    value_width = 48
    # Room for the longest label (capitals, such as rule codes, at about 8 px each).
    longest = max((len(_clip(label)) for label, _ in rows), default=0)
    label_width = max(label_width, 8 * longest + 12)
    plot = max(width - label_width - value_width, 50)
    largest = max((sum(values) for _, values in rows), default=0) or 1
    height = top + len(rows) * (bar_height + gap) + 4
    parts = [_open(width, height, title)]
    x = label_width
    for name, colour in series:
        parts.append(f'<rect x="{x}" y="4" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{x + 16}" y="14" {TEXT}>{escape(name)}</text>')
        x += 24 + 7 * len(name)
    for index, (label, values) in enumerate(rows):
        y = top + index * (bar_height + gap)
        parts.append(
            f'<text x="{label_width - 6}" y="{y + bar_height - 5}" text-anchor="end" {TEXT}>'
            f"{escape(_clip(label))}<title>{escape(label)}</title></text>"
        )
        x = float(label_width)
        for (name, colour), value in zip(series, values, strict=True):
            if not value:
                continue
            length = plot * value / largest
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{y}" width="{max(length, 1):.1f}" '
                f'height="{bar_height}" fill="{colour}">'
                f"<title>{escape(label)}: {value} {escape(name)}</title></rect>"
            )
            x += length
        parts.append(f'<text x="{x + 4:.1f}" y="{y + bar_height - 5}" {TEXT}>{sum(values)}</text>')
    if not rows:
        parts.append(f'<text x="{label_width}" y="{top + 12}" {TEXT}>Nothing open.</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))


def bar_list(rows, series, title):
    """Horizontal stacked bars as a list of links, for a breakdown a person clicks through:
    `rows` is [{"label", "code" (shown small beside it, may be empty), "values" (one per
    series), "url" (None: the row is no link)}], `series` is [(name, colour)]. Each row is
    one link (its words, its total and each part's count in its text for screen readers and
    tooltips); the numbers per series are also in a table under a <details>, each a link
    when the row gives "value_urls" (one per series: the list of just that part)."""
    largest = max((sum(row["values"]) for row in rows), default=0) or 1
    parts = [f'<figure class="bar-list" aria-label="{escape(title)}">']
    parts.append('<ul class="legend" aria-hidden="true">')
    for name, colour in series:
        parts.append(
            f'<li><span class="swatch" style="background:{colour}"></span>{escape(name)}</li>'
        )
    parts.append("</ul><ol>")
    for row in rows:
        total = sum(row["values"])
        spoken = ", ".join(
            f"{value} {name}" for (name, _), value in zip(series, row["values"], strict=True)
        )
        # A row without a URL (cases without a plant, say: no filter finds them) is no link.
        tag, href = ("a", f' href="{escape(row["url"])}"') if row.get("url") else ("span", "")
        parts.append(
            f'<li><{tag} class="bar-row"{href} '
            f'title="{escape(row["label"])}: {total} ({escape(spoken)})">'
            f'<span class="bar-label">{escape(row["label"])}'
        )
        if row.get("code"):
            parts.append(f' <small class="code">{escape(row["code"])}</small>')
        parts.append('</span><span class="bar-track" aria-hidden="true">')
        for (_name, colour), value in zip(series, row["values"], strict=True):
            if value:
                parts.append(
                    f'<span class="bar" style="width:{100 * value / largest:.2f}%;'
                    f'background:{colour}"></span>'
                )
        parts.append(
            f'</span><span class="bar-value">{total}'
            f'<span class="visually-hidden"> ({escape(spoken)})</span></span></{tag}></li>'
        )
    parts.append("</ol>")
    if not rows:
        parts.append('<p class="muted">Nothing open.</p>')
    else:
        head = "".join(f"<th>{escape(name)}</th>" for name, _ in series)
        parts.append(
            f'<details><summary class="help">The numbers</summary><table class="cases">'
            f"<tr><th></th>{head}<th>Total</th></tr>"
        )
        for row in rows:
            urls = row.get("value_urls") or [None] * len(row["values"])
            cells = "".join(
                f'<td class="value"><a href="{escape(url)}">{value}</a></td>'
                if url
                else f'<td class="value">{value}</td>'
                for value, url in zip(row["values"], urls, strict=True)
            )
            label = escape(row["label"])
            if row.get("url"):
                label = f'<a href="{escape(row["url"])}">{label}</a>'
            parts.append(
                f'<tr><td>{label}</td>{cells}<td class="value">{sum(row["values"])}</td></tr>'
            )
        parts.append("</table></details>")
    parts.append("</figure>")
    return mark_safe("".join(parts))


def column_bars(points, title, width=640, height=180, colour=BAR_COLOUR):
    """Vertical bars over time: `points` is [(label, value)], oldest first. Every label is
    a tooltip; only some are written under the axis so they never overlap."""
    left, bottom, top = 36, 22, 10
    plot_width = width - left - 8
    plot_height = height - bottom - top
    largest = max((value for _, value in points), default=0) or 1
    parts = [_open(width, height, title)]
    parts.append(
        f'<line x1="{left}" y1="{top + plot_height}" x2="{width - 8}" '
        f'y2="{top + plot_height}" stroke="#999"/>'
    )
    parts.append(f'<text x="{left - 4}" y="{top + 10}" text-anchor="end" {TEXT}>{largest}</text>')
    parts.append(f'<text x="{left - 4}" y="{top + plot_height}" text-anchor="end" {TEXT}>0</text>')
    if points:
        step = plot_width / len(points)
        every = max(1, round(len(points) / 8))
        for index, (label, value) in enumerate(points):
            x = left + index * step
            bar = plot_height * value / largest
            parts.append(
                f'<rect class="bar" x="{x + step * 0.15:.1f}" y="{top + plot_height - bar:.1f}" '
                f'width="{step * 0.7:.1f}" height="{bar:.1f}" fill="{colour}">'
                f"<title>{escape(label)}: {value}</title></rect>"
            )
            if index % every == 0:
                parts.append(
                    f'<text x="{x + step / 2:.1f}" y="{height - 6}" text-anchor="middle" '
                    f"{TEXT}>{escape(label)}</text>"
                )
    parts.append("</svg>")
    return mark_safe("".join(parts))


def _open(width, height, title):
    return (
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-label="{escape(title)}" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}"><title>{escape(title)}</title>'
    )


def _clip(label, length=28):
    label = str(label)
    return label if len(label) <= length else label[: length - 1] + "…"
