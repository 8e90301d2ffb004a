"""A payload pretty-printed as HTML, with the fields the diagnostics point at highlighted.

Diagnostics name a field by its JSON path (`$.ship_to`, `$.lines[3].item`). The payload is
written out as indented JSON, one line per value; the line of each named path is marked and
given an anchor (`field-<n>`) so a diagnostic can link to it. A long array (a forecast has
thousands of lines) is shortened to its first elements and those holding a named field, with
a line saying how many were left out: the page stays readable and quick whatever the size.
"""

import json

from django.utils.html import escape
from django.utils.safestring import mark_safe

INDENT = "  "
# Arrays longer than this are shortened; HEAD elements are always shown.
LONG_ARRAY = 30
HEAD = 3


def highlighted_payload(payload, paths):
    """HTML (safe) of `payload` as indented JSON; `paths` is {json path: anchor id}."""
    lines = []
    _value(payload, "$", 0, "", True, paths, lines)
    return mark_safe("\n".join(lines))


def _value(value, path, depth, key_html, last, paths, lines):
    comma = "" if last else ","
    indent = INDENT * depth
    marked = path in paths
    if isinstance(value, dict) and value:
        lines.append(_line(f"{indent}{key_html}{{", path if marked else None, paths))
        items = list(value.items())
        for position, (key, child) in enumerate(items):
            child_key = f'<span class="k">{escape(json.dumps(key))}</span>: '
            _value(
                child,
                f"{path}.{key}",
                depth + 1,
                child_key,
                position == len(items) - 1,
                paths,
                lines,
            )
        lines.append(f"{indent}}}{comma}")
    elif isinstance(value, list) and value:
        lines.append(_line(f"{indent}{key_html}[", path if marked else None, paths))
        shown = _shown_indexes(value, path, paths)
        previous = -1
        for index in shown:
            if index > previous + 1:
                skipped = index - previous - 1
                lines.append(f'{INDENT * (depth + 1)}<span class="skip">… {skipped} more</span>')
            _value(
                value[index],
                f"{path}[{index}]",
                depth + 1,
                "",
                index == len(value) - 1,
                paths,
                lines,
            )
            previous = index
        if previous < len(value) - 1:
            skipped = len(value) - 1 - previous
            lines.append(f'{INDENT * (depth + 1)}<span class="skip">… {skipped} more</span>')
        lines.append(f"{indent}]{comma}")
    else:
        text = f'{indent}{key_html}<span class="v">{escape(json.dumps(value))}</span>{comma}'
        lines.append(_line(text, path if marked else None, paths))


def _shown_indexes(items, path, paths):
    if len(items) <= LONG_ARRAY:
        return range(len(items))
    wanted = set(range(HEAD))
    prefix = f"{path}["
    for named in paths:
        if named.startswith(prefix):
            index = named[len(prefix) :].split("]", 1)[0]
            if index.isdigit() and int(index) < len(items):
                wanted.add(int(index))
    return sorted(wanted)


def _line(html, path, paths):
    if path is None:
        return html
    return f'<mark id="{paths[path]}" title="{escape(path)}">{html}</mark>'
