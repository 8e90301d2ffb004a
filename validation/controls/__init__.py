"""The business controls of the sync workflows, and the document ledger they read and write.

Plain reference checks (validation.rules) say whether the codes of a message mean something;
these controls say whether the message makes sense against what the hub released before:

    workflow                 key control                          rule codes
    forecast to ERP          versioning, horizon, frozen fence,   STALE_FORECAST_VERSION,
                             selective synchronization            FORECAST_PERIOD_OUTSIDE_HORIZON,
                                                                  FROZEN_FENCE_CHANGE,
                                                                  CHANGE_NOT_ACTIONABLE
    ERP accepts a forecast   a version the hub released; an ERP   FORECAST_RELEASE_UNKNOWN,
                             as the sender                        FORECAST_ACCEPTANCE_NOT_ERP
    ERP PO to supplier       known order, newer change sequence   PO_CHANGE_OUT_OF_SEQUENCE
    acknowledgement to ERP   correlation, quantities, supplier    UNKNOWN_PO, UNKNOWN_PO_LINE,
                             working days, supply at risk         ACK_QUANTITY_MISMATCH,
                                                                  COMMITTED_DATE_NOT_WORKING_DAY,
                                                                  SUPPLY_AT_RISK
    ship notice and receipt  correlation by PO, line, shipment;   UNKNOWN_PO, UNKNOWN_PO_LINE,
                             over-shipment; SSCC check digits     DUPLICATE_SHIPMENT,
                                                                  OVER_SHIPMENT, SSCC_INVALID

Each is a rule of the registry (validation.registry, `@rule`), so its severity, team and
whether it runs are the Rule row's, which stewards change in the admin; OVER_SHIPMENT's
tolerance is the row's tolerance_percent. A plan's horizon, frozen fence and change
thresholds are its PlanPolicy (admin, "Plan policies"): without one, a forecast is checked
for its version and against its own horizon only, and every line is released.

One module per family: `forecast` (versions, horizon, frozen fence, selective
synchronization, the ERP's acceptance of a release), `orders` (order changes; correlation of
acknowledgements, ship notices and receipts with the released orders), `acknowledgements`,
`shipments` (ship notices). `common` is what they share: `Ledger`, what the document ledger
(validation.ledger) says about one message, read when it is validated (one per pipeline
Check, remembering what it looked up).

Selective synchronization: a forecast line whose change against the plan's last released
version is below both of the plan's thresholds (percent and absolute; a threshold of 0 is
not applied) is not actionable: CHANGE_NOT_ACTIONABLE takes it out of the released payload
(it is not a diagnostic), and the released header's hub says what was left out and why:

    "hub": {"selective_sync": {"compared_with_version": 3, "threshold_percent": "5",
            "threshold_quantity": "10", "lines_filtered": 2,
            "filtered": [{"line": 4, "item": "PL-100", "location": "P1",
                          "period_start": "2026-03-09", "quantity": "102",
                          "released_quantity": "100", "reason": "..."}]}}

(the first MAX_FILTERED_LISTED lines are listed; lines_filtered counts all). A change inside
the frozen fence that is actionable is held for approval (FROZEN_FENCE_CHANGE quarantines the
forecast, routed to planning; a planner approves by release by override).

Acknowledgements: an acknowledgement's lines name the order's line numbers; several lines may
acknowledge one order line (part on time, part later). Statuses resolve through the code list
ACK_LINE_STATUS and the sender's cross-references (X12 855 ACK01 codes, a portal's words) to
the canonical accepted, accepted_with_changes, backordered, rejected, on_hold. What the lines
of one order line commit may not exceed what was ordered, and a plainly accepted order line
must commit exactly that (ACK_QUANTITY_MISMATCH); committed dates must be working days of the
order's supplier site's calendar. An accepted-with-changes or backordered line that commits
less, or later than the need-by date, is released with a SUPPLY_AT_RISK warning, and its
release raises a SupplyException: quantity at risk (what is short, plus what comes late) and
days late, for the planners' screen and GET /api/v1/supply-exceptions/. The quantity checks
see the lines of one chunk (HUB_VALIDATION_CHUNK_LINES) at a time; acknowledgements are far
smaller.

Ship notices: a shipment id is unique per supplier (DUPLICATE_SHIPMENT); what the order line's
shipments carry in all may exceed what was acknowledged (else ordered) by the rule's tolerance
at most (OVER_SHIPMENT). A ship notice line names its order line by po_line, or (contract v3,
for cross-dock ASNs that name only the item under the order) by its item: the order's one line
carrying the hub item its item code resolves to (validation.ledger.OrderLines, which the
controls and the ledger's recording share); an item on no line of the order, or on several,
is UNKNOWN_PO_LINE, naming the lines. Receipts are correlated to the order line by PO number
and line (the order of the receiving plant when two suppliers share a number) and close the
loop: received and open quantity per order line, and whether a ship notice announced the
receipt.
"""
