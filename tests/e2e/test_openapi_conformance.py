"""`schemathesis run --checks all` over the four running services (its engine, every phase: examples, coverage,
fuzzing, stateful), with a fixed seed: no 5xx, and no failure of any check but those listed in README.md
("What the OpenAPI cannot say"), each for the reason given there. A new kind of failure, or a listed one on another
operation, fails the test, so the list cannot grow silently."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest
from stack import SERVICES  # deploy/local/stack.py

from tests.conformance import run_all_checks
from tests.conftest import bearer

SEED = 20261206
# Every role of each service in 吴起县, so generated requests get past auth and reach the handlers.
CALLERS = {
    "intake": ["admin", "clerk", "township_reviewer", "county_approver", "auditor"],
    "eligibility": ["admin", "clerk", "township_reviewer", "county_approver", "auditor", "finance"],
    "payments": ["admin", "finance", "county_approver", "auditor"],
    "monitoring": ["admin", "township_reviewer", "county_approver", "auditor", "partner:medical_insurance"],
}

# (check, operation) → why: each is explained in README.md.
ACCEPTED = {
    # A cross-parameter rule: period, or year with quarter / half, never both or neither (OpenAPI has no way to
    # say one-of for query parameters).
    ("positive_data_acceptance", "GET /statistics"): "either period or year",
    ("positive_data_acceptance", "GET /county/statistics"): "either period or year",
    ("positive_data_acceptance", "GET /county/report"): "either period or year",
    # Uploaded files are read and checked row by row (a file of no rows, a header the kind does not have): the
    # content of a binary body is not a schema matter.
    ("positive_data_acceptance", "POST /batches/{batch_id}/returns"): "file content",
    ("positive_data_acceptance", "POST /feeds/{kind}"): "file content",
    ("positive_data_acceptance", "POST /applications/{application_id}/evidence"): "file content (PDF/JPEG/PNG)",
    ("positive_data_acceptance", "POST /roll-imports"): "file content (the roll's columns, one row at least)",
    # A multipart body that cannot be parsed is refused (422) before the bearer token is looked at.
    ("missing_required_header", "POST /batches/{batch_id}/returns"): "multipart parsed first",
    ("missing_required_header", "POST /applications/{application_id}/evidence"): "multipart parsed first",
    ("missing_required_header", "POST /roll-imports"): "multipart parsed first",
    ("missing_required_header", "PUT /regions/{county_code}/villages"): "CSV body read first",
    # The stateful phase follows a batch line's beneficiary_id into this path; a one-off award's line has none
    # (null), which it sends as "None": not a UUID, so 422.
    ("positive_data_acceptance", "GET /beneficiaries/{beneficiary_id}/entitlements"): "null id from a one-off line",
    # /feeds/{feed_id} (GET) and /feeds/{kind} (POST) share a shape: a POST to a feed id is a feed of unknown kind
    # (422), and GET is allowed on any /feeds/<x>.
    ("unsupported_method", "GET /feeds/{feed_id}"): "path shared with POST /feeds/{kind}",
    ("allow_header_conformance", "POST /feeds/{kind}"): "path shared with GET /feeds/{feed_id}",
    ("allow_header_conformance", "POST /parameters/what-if"): "path shared with GET /parameters/{key}",
    # GB 11643 check character, GB/T 2260 codes in the division tables (or the villages a county loaded), dates
    # within the domain's limits, a parameter key that exists, rules across fields (a rejection names its reasons,
    # a home visit two named investigators): values checked against data or each other, which no pattern holds.
    **{
        ("positive_data_acceptance", operation): "checked against data"
        for operation in (
            "POST /households",
            "POST /households/lookup",
            "POST /households/{household_id}/members",
            "POST /applications",
            "PUT /regions/{county_code}/villages",
            "POST /cases/{case_id}/decision",
            "POST /cases/{case_id}/home-visits",
            "POST /parameters",
            "POST /parameters/what-if",
            "POST /assessments",  # every item's village within the caller's region
            # every step's date is checked against the case's own dates (never before the step it follows)
            *(
                f"POST /cases/{{case_id}}/{step}"
                for step in (
                    "investigation",
                    "economic-check",
                    "township-opinion",
                    "appraisal",
                    "notice/objections",
                    "notice/close",
                    "extension",
                    "emergency-approval",
                    "documents-complete",
                    "review",
                    "termination",
                )
            ),
            "POST /alerts/{alert_id}/verification",
            "POST /alerts/{alert_id}/closure",
        )
    },
    # A list's cursor is opaque: it is checked against its checksum and the list it belongs to; an ID number asked
    # for in X-Id-Number against its GB 11643 check character (shared/pagination.py).
    **{
        ("positive_data_acceptance", operation): "opaque cursor, ID number check character"
        for operation in (
            "GET /households",
            "GET /applications",
            "GET /application-drafts",
            "GET /cases",
            "GET /cases/deadlines",
            "GET /cases/reviews-due",
            "GET /tasks",
            "GET /batches",
            "GET /batches/{batch_id}/lines",
            "GET /beneficiaries",
            "GET /overpayments",
            "GET /statistics/changes",
            "GET /alerts",
            "GET /alerts/overdue",
            "GET /alerts/due-soon",
            "GET /recomputes",
        )
    },
    # An If-Match naming a version that is no longer current is 412: which version is current, no schema can say.
    **{
        ("positive_data_acceptance", operation): "If-Match of another version"
        for operation in (
            "PATCH /households/{household_id}",
            "PUT /households/{household_id}/economic-facts",
            "POST /households/{household_id}/members",
            "PATCH /households/{household_id}/members/{member_id}",
            "DELETE /households/{household_id}/members/{member_id}",
            "PATCH /applications/{application_id}",
            "POST /applications/{application_id}/withdraw",
        )
    },
}


@pytest.mark.parametrize("service", list(SERVICES))
def test_schemathesis_all_checks_find_nothing_unlisted(stack, service):
    raw = httpx.get(stack.url(service) + "/openapi.json").json()
    run = run_all_checks(raw, stack.url(service), bearer("fuzz", CALLERS[service], "610626"), seed=SEED, examples=10)
    print(f"{service}: {run.cases} cases, {dict(run.statuses)}, {len(run.findings)} findings (all listed):")
    for (check, operation), n in sorted(Counter((f.check, f.operation) for f in run.findings).items()):
        print(f"  {n:3d} {check} {operation}")
    assert run.cases >= 300, run.statuses
    assert not [s for s in run.statuses if s >= 500], run.statuses
    unlisted = [f for f in run.findings if (f.check, f.operation) not in ACCEPTED]
    kinds = Counter((f.check, f.operation) for f in unlisted)
    assert not unlisted, f"{kinds}\n\n" + "\n".join(f"{f.check} {f.status} {f.request}" for f in unlisted[:20])
