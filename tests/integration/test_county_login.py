"""The county console's login and logout (login CSRF): only this site's own page may post them, and logging out
revokes the session on the server, so a copy of the cookie opens nothing afterwards. The forged requests carry the
headers a browser sends when another site's page posts a form here."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text

OURS = {"Origin": "http://payments", "Sec-Fetch-Site": "same-origin"}
FORGED = {
    "another site's form": {"Origin": "https://attacker.example", "Sec-Fetch-Site": "cross-site"},
    "a sibling subdomain": {"Origin": "http://evil.payments", "Sec-Fetch-Site": "same-site"},
    "Origin only, another site": {"Origin": "https://attacker.example"},
    "Sec-Fetch-Site only, cross-site": {"Sec-Fetch-Site": "cross-site"},
    "a sandboxed frame": {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
    "same origin claimed, another Origin": {"Origin": "https://attacker.example", "Sec-Fetch-Site": "same-origin"},
    "no browser headers at all": {},
}


def _token(tokens: dict, who: str) -> str:
    return tokens[who]["Authorization"].removeprefix("Bearer ")


async def _sessions(db) -> int:
    async with db.connect() as conn:
        return (await conn.execute(text("SELECT count(*) FROM payments.county_sessions"))).scalar_one()


@pytest.mark.parametrize("forged", FORGED)
async def test_a_cross_site_login_is_refused_and_sets_no_cookie(api, tokens, db, forged):
    before = await _sessions(db)
    r = await api("payments").post("/county/login", data={"token": _token(tokens, "finance")}, headers=FORGED[forged])
    assert r.status_code == 403
    assert "set-cookie" not in r.headers
    assert await _sessions(db) == before


async def _logged_in(api, tokens) -> str:
    r = await api("payments").post("/county/login", data={"token": _token(tokens, "finance")}, headers=OURS)
    assert r.status_code == 303 and r.headers["location"] == "/county/dashboard"
    cookie = r.cookies["county_session"]
    api("payments").cookies.clear()  # the shared client: each request below names the cookie it sends
    assert _token(tokens, "finance") not in r.headers["set-cookie"]  # the cookie holds a session id, not the token
    return cookie


async def _dashboard(cookie: str, api) -> httpx.Response:
    return await api("payments").get(
        "/county/dashboard",
        params={"region": "610626", "period": "2025-07"},
        headers={"Cookie": f"county_session={cookie}"},
    )


async def test_logout_revokes_the_session_so_a_copy_of_the_cookie_opens_nothing(api, tokens):
    cookie = await _logged_in(api, tokens)
    page = await _dashboard(cookie, api)
    assert page.status_code == 200 and "社会救助工作台" in page.text

    r = await api("payments").post("/county/logout", headers={**OURS, "Cookie": f"county_session={cookie}"})
    assert r.status_code == 303 and r.headers["location"] == "/county/login"
    assert 'county_session=""' in r.headers["set-cookie"]

    again = await _dashboard(cookie, api)  # the cookie kept (copied, or a browser that ignored the deletion)
    assert again.status_code == 303 and again.headers["location"] == "/county/login"


@pytest.mark.parametrize("forged", ["another site's form", "no browser headers at all"])
async def test_a_cross_site_logout_is_refused_and_the_session_lives_on(api, tokens, forged):
    cookie = await _logged_in(api, tokens)
    r = await api("payments").post("/county/logout", headers={**FORGED[forged], "Cookie": f"county_session={cookie}"})
    assert r.status_code == 403
    assert "set-cookie" not in r.headers
    assert (await _dashboard(cookie, api)).status_code == 200


async def test_a_made_up_session_id_opens_nothing(api):
    r = await _dashboard("x" * 43, api)
    assert r.status_code == 303 and r.headers["location"] == "/county/login"
