"""Template context every page of the hub shares."""

from django.contrib import admin


def admin_site(request):
    """What the admin's header needs (site name, whether to show the user's tools), so the
    review screens wear the admin's header too. An admin view's own context takes precedence
    over these values."""
    return {
        "site_header": admin.site.site_header,
        "site_title": admin.site.site_title,
        "site_url": admin.site.site_url,
        "has_permission": admin.site.has_permission(request),
    }
