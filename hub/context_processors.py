"""Template context every page of the hub shares."""

from django.contrib import admin

from changes import requests


def admin_site(request):
    """What the admin's header needs (site name, whether to show the user's tools, how many
    change requests wait for the user's review), so the review screens wear the admin's
    header too. An admin view's own context takes precedence over these values."""
    return {
        "site_header": admin.site.site_header,
        "site_title": admin.site.site_title,
        "site_url": admin.site.site_url,
        "has_permission": admin.site.has_permission(request),
        # Called by the header only (a template calls a callable): one COUNT on the pages
        # that show it, none for a user without the approver permission, none elsewhere.
        "changes_to_review": lambda: requests.to_review(getattr(request, "user", None)).count(),
    }
