"""Every steward page at 1280, 1440 and 1920 px: nothing scrolls sideways (a wide table
scrolls inside its own box) and no link, label or heading is squeezed narrower than its
longest word. A screenshot of each page is written to HUB_SCREENSHOT_DIR (default
var/screenshots/, which CI keeps), to be looked at.

The checks are about layout, not wording: the pages' content may change freely."""

import csv
import io
import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import models
from django.urls import reverse

from demo.login import reset_demo_steward
from mdm.models import Item
from quarantine.models import QuarantineCase

pytestmark = pytest.mark.browser

WIDTHS = (1280, 1440, 1920)
TOLERANCE_PX = 2

# For each visible link, label and table heading: its content width and the rendered width of
# its longest word (same font, size, letter spacing and text transform, measured in a hidden
# span). A word wider than the box means the box squeezed it, broken or overflowing.
SQUEEZED_JS = """
(tolerance) => {
  const probe = document.createElement('span');
  probe.style.cssText = 'position:absolute;visibility:hidden;white-space:nowrap;left:-9999px;top:0';
  document.body.appendChild(probe);
  const found = [];
  for (const el of document.querySelectorAll('a, label, th')) {
    const rect = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (rect.width === 0 || rect.height === 0 || style.visibility === 'hidden') continue;
    if (el.closest('[hidden], .hidden, .empty-form, .visually-hidden')) continue;
    // Each piece of text in its own font (a code in <small> is narrower than the link's text).
    let widest = 0, word = '';
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const parent = node.parentElement;
      if (!parent || parent.getClientRects().length === 0) continue;
      const font = getComputedStyle(parent);
      for (const prop of ['fontFamily', 'fontSize', 'fontWeight', 'fontStyle', 'letterSpacing',
                          'textTransform', 'fontVariant']) {
        probe.style[prop] = font[prop];
      }
      for (const w of node.textContent.split(/\\s+/).filter(Boolean)) {
        probe.textContent = w;
        const width = probe.getBoundingClientRect().width;
        if (width > widest) { widest = width; word = w; }
      }
    }
    if (!word) continue;
    const inset = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight)
      + parseFloat(style.borderLeftWidth) + parseFloat(style.borderRightWidth);
    const box = rect.width - inset;
    if (box + tolerance < widest) {
      found.push(`${el.tagName.toLowerCase()} "${word}": box ${box.toFixed(0)} px, ` +
                 `word ${widest.toFixed(0)} px`);
    }
  }
  probe.remove();
  return found;
}
"""


@pytest.fixture
def demo_world(transactional_db, eager_celery):
    call_command("seed_demo", items=40, suppliers=5, verbosity=0)
    return reset_demo_steward()


def _screenshot_dir():
    directory = Path(os.environ.get("HUB_SCREENSHOT_DIR") or settings.BASE_DIR / "var/screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _parent_with_rows(model_admin):
    """A record whose inlines have rows to show: the parent of the first row of its first
    inline that has one, else the first record."""
    model = model_admin.model
    for inline in model_admin.inlines:
        for field in inline.model._meta.get_fields():
            if isinstance(field, models.ForeignKey) and field.related_model is model:
                row = inline.model._default_manager.order_by("pk").first()
                if row is not None:
                    return getattr(row, field.name)
    return model._default_manager.order_by("pk").first()


def _admin_pages(user):
    """Each change list the user may see, and a change page of each model with inlines."""
    pages = [("admin-index", reverse("admin:index"))]
    for model, model_admin in sorted(admin.site._registry.items(), key=lambda e: e[0]._meta.label):
        opts = model._meta
        if not (
            user.has_perm(f"{opts.app_label}.view_{opts.model_name}")
            or user.has_perm(f"{opts.app_label}.change_{opts.model_name}")
        ):
            continue
        name = f"{opts.app_label}-{opts.model_name}"
        pages.append(
            (f"{name}-list", reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        )
        if model_admin.inlines:
            record = _parent_with_rows(model_admin)
            if record is not None:
                url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[record.pk])
                pages.append((f"{name}-change", url))
    return pages


def _history_pages():
    item = Item.objects.order_by("pk").first()
    version = item.history.order_by("history_date").first()
    return [
        ("item-history", reverse("admin:mdm_item_history", args=[item.pk])),
        (
            "item-history-revert-form",
            reverse("admin:mdm_item_simple_history", args=[item.pk, version.history_id]),
        ),
    ]


def _review_pages():
    pages = [
        ("quarantine-queue", reverse("quarantine:queue")),
        ("quarantine-dashboard", reverse("quarantine:dashboard")),
        ("supply-exceptions", reverse("quarantine:supply-exceptions")),
        ("supply-flows", reverse("quarantine:flows")),
        ("supply-flows-orders", reverse("quarantine:flow-orders")),
        ("events-subscriptions", reverse("quarantine:events")),
    ]
    case = QuarantineCase.objects.order_by("pk").first()
    if case is not None:
        pages.append(("quarantine-case", reverse("quarantine:case", args=[case.pk])))
    return pages


class Layout:
    """Visits pages at one width, checks each and writes its screenshot."""

    def __init__(self, page, width):
        self.page, self.width = page, width
        self.directory = _screenshot_dir()
        self.failures = []

    def check(self, name):
        page = self.page
        page.wait_for_load_state("load")
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        window_width = page.evaluate("window.innerWidth")
        if scroll_width > window_width:
            self.failures.append(
                f"{name}: page {scroll_width} px wide in a {window_width} px window"
            )
        squeezed = page.evaluate(SQUEEZED_JS, TOLERANCE_PX)
        if squeezed:
            examples = "; ".join(squeezed[:3])
            self.failures.append(f"{name}: {len(squeezed)} squeezed, e.g. {examples}")
        page.screenshot(path=str(self.directory / f"{self.width}-{name}.png"), full_page=True)

    def visit(self, name, url):
        response = self.page.goto(url)
        if not response.ok:
            self.failures.append(f"{name}: {url} answered {response.status}")
            return
        self.check(name)


def _import_pages(layout, base_url):
    """Plan, apply and revert a supplier import made from the hub's own export, with one name
    changed: the plan page, the result after the apply and the revert page."""
    page = layout.page
    exported = page.request.get(base_url + reverse("imports:export", args=["suppliers"])).text()
    rows = list(csv.reader(io.StringIO(exported)))
    rows[1][rows[0].index("name")] += " (renamed)"
    out = io.StringIO()
    csv.writer(out).writerows(rows)

    layout.visit("imports-index", base_url + reverse("imports:index"))
    page.select_option("select[name=kind]", "suppliers")
    page.set_input_files(
        "input[name=file]",
        {"name": "suppliers.csv", "mimeType": "text/csv", "buffer": out.getvalue().encode()},
    )
    page.click("#upload-form [type=submit]")
    page.wait_for_url(re.compile(r"/imports/\d+/$"))
    page.wait_for_selector("#apply")
    layout.check("imports-plan")
    run_url = page.url

    page.click("#apply")
    page.wait_for_selector("#run-status:has-text('Applied')")
    layout.check("imports-applied")
    layout.visit("imports-revert", run_url + "revert/")


@pytest.mark.parametrize("width", WIDTHS)
def test_no_steward_page_scrolls_sideways_or_squeezes_a_word(
    width, live_server, browser, demo_world
):
    user = get_user_model().objects.get(username="steward")
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("#id_username", "steward")
        page.fill("#id_password", demo_world)
        page.click("input[type=submit]")
        page.wait_for_selector("#hub-nav")

        layout = Layout(page, width)
        for name, url in _admin_pages(user) + _history_pages() + _review_pages():
            layout.visit(name, live_server.url + url)
        _import_pages(layout, live_server.url)
    finally:
        context.close()

    assert not layout.failures, "\n".join(layout.failures)
