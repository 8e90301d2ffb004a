"""API v1 views of xref, by endpoint: resolve.py (resolve/, translate/), match.py (match/),
registry.py (xrefs/). Their routes are xref.api_urls."""
