"""Hostile and careless feed files against the real monitoring app and PostgreSQL: a file without rows is refused
(not `loaded`), a header of ten thousand extra columns is refused naming them, a load that fails mid-stream says
nothing was stored, and 30 MB of bad rows keep the first errors, count the rest and stay in bounded memory."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from services.monitoring.config import Settings
from shared.core.period import china_today
from tests.conftest import bearer
from tests.helpers import resident_id
from tests.upload_kit import MB, RssWatch, chunks_of, lines_of

HEADER = b"id_number,region_code,settled_on,out_of_pocket_fen,serious_illness\n"
MEDICAL = {**bearer("yibao-wuqi", ["partner:medical_insurance"], "610626"), "Content-Type": "text/csv"}
TODAY = china_today().isoformat()


async def _feed(api, feed_id: str) -> dict:
    r = await api("monitoring").get(f"/feeds/{feed_id}", headers=MEDICAL)
    assert r.status_code == 200, r.text
    return r.json()


async def _stored(db, feed_id: str) -> int:
    async with db.connect() as conn:
        return await conn.scalar(
            text("SELECT count(*) FROM monitoring.feed_records WHERE feed_id = :f"), {"f": feed_id}
        )


async def test_a_file_with_a_header_and_no_rows_is_refused_not_loaded(api):
    for content, content_type in (
        (HEADER, "text/csv"),
        (HEADER + b"\r\n\r\n", "text/csv"),
        (b"\n\n", "application/x-ndjson"),
    ):
        r = await api("monitoring").post(
            "/feeds/medical", content=content, headers={**MEDICAL, "Content-Type": content_type}
        )
        assert r.status_code == 422, r.text
        assert r.json()["errors"] == [{"field": "body", "message": r.json()["errors"][0]["message"]}]
        assert "no rows" in r.json()["detail"]
        assert (await _feed(api, r.json()["feed_id"]))["status"] == "failed"


async def test_a_header_with_ten_thousand_extra_columns_is_refused_naming_them(api):
    header = HEADER.rstrip(b"\n") + b"," + b",".join(b"extra%d" % i for i in range(9996)) + b"\n"
    r = await api("monitoring").post("/feeds/medical", content=header + b"1,2,3\n", headers=MEDICAL)
    assert r.status_code == 422, r.text
    [error] = r.json()["errors"]
    assert error["field"] == "header" and "extra0, extra1" in error["message"] and "and 9986 more" in error["message"]
    r = await api("monitoring").post(
        "/feeds/medical", content=HEADER.replace(b"\n", b",region_code\n"), headers=MEDICAL
    )
    assert r.status_code == 422 and "region_code appear more than once" in r.json()["errors"][0]["message"]


async def test_a_load_that_fails_mid_stream_says_nothing_was_stored(api, db):
    chunk = Settings().feed_chunk_rows
    good = [f"{resident_id()},610626101,{TODAY},1000,0\n".encode() for _ in range(chunk + 3000)]
    # Streamed: the first chunk of rows is COPY'd before the NUL arrives; the request's rollback takes it back.
    body = chunks_of(iter([HEADER, *good, b"\x00\n"]))
    r = await api("monitoring").post("/feeds/medical", content=body, headers=MEDICAL)
    assert r.status_code == 422, r.text
    feed = await _feed(api, r.json()["feed_id"])
    # The NUL's own 64 KiB chunk is refused whole; the rows before it were read, a chunk of them COPY'd.
    assert (feed["status"], feed["rows_loaded"]) == ("failed", 0) and chunk < feed["rows_read"] < chunk + 3000, feed
    assert "nothing was stored" in feed["detail"]
    assert await _stored(db, feed["id"]) == 0


async def test_thirty_megabytes_of_bad_rows_keep_the_first_errors_and_count_the_rest(api, db):
    def row(n: int) -> bytes:  # a resident ID whose check character is (mostly) wrong, a bad date, a long amount
        return b"61062619560312%04d0,610626101,2026-02-30,%s100,0\n" % (n % 10_000, b"0" * 30)

    watch = RssWatch()
    r = await api("monitoring").post(
        "/feeds/medical", content=chunks_of(lines_of(HEADER, row, 30 * MB), watch), headers=MEDICAL
    )
    watch.sample()
    assert r.status_code == 201, r.text
    feed = r.json()
    rows = (30 * MB - len(HEADER) + len(row(0)) - 1) // len(row(0))
    assert (feed["rows_read"], feed["rows_loaded"], feed["rows_rejected"]) == (rows, 0, rows)
    keep = Settings().feed_max_errors
    assert feed["detail"] == f"{rows} rows rejected; the error report holds the first {keep}"
    report = (await api("monitoring").get(f"/feeds/{feed['id']}/errors", params={"limit": 5}, headers=MEDICAL)).json()
    assert (report["rejected"], report["total"]) == (rows, keep)
    assert [e["line"] for e in report["items"]] == [2, 3, 4, 5, 6]
    assert watch.growth < 50 * MB, f"RSS grew {watch.growth / MB:.0f} MB"


async def test_the_same_file_posted_twice_at_once_answers_the_first_result_twice(api, db):
    """A client retrying a slow upload: the same file twice at once, streamed. By hand: one load commits (201), the
    other answers its result (200, the same feed) and changes nothing; no feed is left `receiving`."""
    retry = {**bearer("yibao-retry", ["partner:medical_insurance"], "610626"), "Content-Type": "text/csv"}
    rows = [f"{resident_id()},610626101,{TODAY},1000,0\n".encode() for _ in range(3000)]

    async def post():
        body = chunks_of(iter([HEADER, *rows]))
        return await api("monitoring").post("/feeds/medical", content=body, headers=retry)

    first, second = await asyncio.gather(post(), post())
    assert sorted((first.status_code, second.status_code)) == [200, 201], (first.text, second.text)
    assert first.json()["id"] == second.json()["id"]
    async with db.connect() as conn:
        statuses = (
            await conn.scalars(text("SELECT status FROM monitoring.feeds WHERE uploaded_by = 'yibao-retry'"))
        ).all()
    assert statuses == ["loaded"]


async def test_a_small_gbk_file_whose_only_chinese_is_its_last_character_is_read_as_gbk(api):
    """No charset given, and the file's one GBK character (否) sits in its last bytes: the whole file is the sniffed
    sample, so nothing is cut there — it is GBK, not a UTF-8 character cut short."""
    body = (HEADER.decode() + f"{resident_id()},610626101,{TODAY},1000,否\n").encode("gbk")
    r = await api("monitoring").post("/feeds/medical", content=body, headers=MEDICAL)
    assert r.status_code == 201 and (r.json()["rows_loaded"], r.json()["rows_rejected"]) == (1, 0), r.text


async def test_the_same_file_with_another_mode_is_refused_naming_mode(api):
    """A file refused whole (all_or_nothing, a bad row), posted again with mode best_effort: the same file is the
    same feed, with the mode it was first posted with (README) — 409 naming `mode` and the feed, never the old 422
    as if the new mode had been read."""
    body = HEADER + f"{resident_id()},610626101,{TODAY},1000,0\n{resident_id()},610626101,{TODAY},-5,0\n".encode()
    refused = await api("monitoring").post(
        "/feeds/medical", content=body, headers=MEDICAL, params={"mode": "all_or_nothing"}
    )
    assert refused.status_code == 422, refused.text
    again = await api("monitoring").post(
        "/feeds/medical", content=body, headers=MEDICAL, params={"mode": "best_effort"}
    )
    assert again.status_code == 409, again.text
    assert again.json()["errors"][0]["field"] == "mode" and refused.json()["feed_id"] in again.json()["detail"]
