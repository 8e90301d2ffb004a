"""Supplier sites as duplicates, merges and the API name them (issue 19). A site is known by
its public id (SST-...) to the hub, but the API serves it under its supplier, by its code
(/api/v1/suppliers/SUP-000045/sites/ORD/, mdm.api_urls), and two sites are one site only when
they are of one supplier.

    KIND                             "supplier_site"
    two_suppliers(survivor, loser)   why two sites cannot be merged (of two suppliers), or ""
    record_path(kind, public_id)     a record's path in the API, a site's under its supplier
    site_path(supplier_id, code)     a site's path in the API
    merged_across(moved)             why a supplier merge cannot be undone for its sites
"""

from django.db.models import Q
from django.urls import reverse

from mdm.models import SupplierSite
from xref.models import Merge

KIND = "supplier_site"


def two_suppliers(survivor, loser):
    """Why the site `loser` cannot be merged into the site `survivor`: they are sites of two
    suppliers (a merge of the suppliers brings their sites together first); "" when both
    are of one supplier."""
    if survivor.supplier_id == loser.supplier_id:
        return ""
    theirs = {s.pk: s for s in (survivor.supplier, loser.supplier)}
    one, other = theirs[survivor.supplier_id], theirs[loser.supplier_id]
    return (
        f"{survivor.public_id} is a site of {one.number} {one.name} and {loser.public_id} of "
        f"{other.number} {other.name}: only sites of one supplier are merged. If the two "
        f"suppliers are one company, merge {other.public_id} into {one.public_id} first; "
        "their sites then belong to one supplier."
    )


def site_path(supplier_id, code):
    """/api/v1/suppliers/<supplier public id>/sites/<code>/"""
    return reverse("supplier-site-detail", kwargs={"supplier_public_id": supplier_id, "code": code})


def record_path(kind, public_id):
    """The path of a record in the API: /api/v1/<kind's plural>/<public id>/, a site's under
    its supplier by its code; None for a site that does not exist."""
    if kind != KIND:
        return reverse(f"{kind}-detail", kwargs={"public_id": public_id})
    found = (
        SupplierSite.objects.filter(public_id=public_id)
        .values_list("supplier__public_id", "code")
        .first()
    )
    return site_path(*found) if found else None


def merged_across(moved):
    """Why a supplier merge that moved the sites `moved` (their ids) cannot be undone: one
    of them has since been merged with a site of the survivor's own, which it would leave
    for another supplier; "" otherwise."""
    ids = set(SupplierSite.objects.filter(pk__in=moved).values_list("public_id", flat=True))
    if not ids:
        return ""
    merges = Merge.objects.filter(kind=KIND, undone_at__isnull=True).filter(
        Q(survivor__in=ids) | Q(loser__in=ids)
    )
    for merge in merges.order_by("pk"):
        if (merge.survivor in ids) != (merge.loser in ids):
            return (
                f"Site {merge.loser} was merged into {merge.survivor} after this merge brought "
                f"their suppliers' sites together; undo that merge (#{merge.pk}) first."
            )
    return ""
