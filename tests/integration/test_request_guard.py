"""Eligibility's free text through its real app: control characters are a 422 naming the field (U+0000 was a 500),
before anything is looked up or written; tabs and line breaks in free text are kept."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("bad", ["\u0000", "\u0007", "\u001b[31m", "\u007f", "\u0085"])
async def test_eligibility_text_fields_refuse_control_characters(api, tokens, bad):
    r = await api("eligibility").post(
        f"/cases/{uuid.uuid4()}/home-visits",
        headers=tokens["reviewer"],
        json={"investigators": ["张强", f"李{bad}娜"], "findings": f"窑洞一孔{bad}", "opinion": "ok"},
    )
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in r.json()["errors"]] == ["investigators[1]", "findings"]

    r = await api("eligibility").post(
        "/parameters",
        headers=tokens["admin"],
        json={
            "region": "610626",
            "key": "dibao.standard.rural",
            "start": "2024-01-01",
            "value": {"per": "month", "fen": 52000},
            "reference": f"延政办发{bad}",
        },
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reference"

    r = await api("eligibility").get("/cases", params={"status": f"accepted{bad}"}, headers=tokens["approver"])
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.status"


async def test_line_breaks_and_tabs_in_free_text_pass_the_guard(api, tokens):
    # The guard lets it through: the answer is the endpoint's own (no such case), not the guard's 422.
    r = await api("eligibility").post(
        f"/cases/{uuid.uuid4()}/home-visits",
        headers=tokens["reviewer"],
        json={"investigators": ["张强", "李娜"], "findings": "窑洞一孔\n\t家中无大件家电\r\n"},
    )
    assert r.status_code == 404
