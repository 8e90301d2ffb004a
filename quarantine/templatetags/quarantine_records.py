"""How the review screens show a sender's code: the master record it resolves to (public id
and name, linked to its admin page) with the sender's code beside it, smaller; or the code
alone, "not in master data". Cases get their records from quarantine.masters.attach."""

from django import template
from django.utils.html import format_html, format_html_join

register = template.Library()


@register.simple_tag
def master_record(case, field):
    code = getattr(case, field, "") or ""
    record = getattr(case, "records", {}).get(field)
    return record_html(record, code)


def record_html(record, code):
    if not code:
        return "–"
    if record is None:
        return format_html(
            '<span class="sender-code">{}</span> <small class="muted">not in master data</small>',
            code,
        )
    return format_html(
        '<a class="master-record" href="{}">{}</a> <small class="sender-code" '
        'title="The sender\'s code">{}</small>',
        record.url,
        record.label,
        code,
    )


@register.simple_tag
def rule_label(titles, code):
    """A rule in words with its code beside it."""
    title = titles.get(code)
    if not title or title == code:
        return format_html("<code>{}</code>", code)
    return format_html('{} <small class="code">{}</small>', title, code)


@register.filter
def breakable(code):
    """A long code (COMMITTED_DATE_NOT_WORKING_DAY) that may wrap after its underscores."""
    *parts, last = str(code).split("_")
    return format_html("{}{}", format_html_join("", "{}_<wbr>", ((p,) for p in parts)), last)
