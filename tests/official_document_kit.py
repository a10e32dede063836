"""Reading a .docx back as GB/T 9704-2012 measures it: the page and margins in mm, and the fonts of the title and
of the body (Latin and East-Asian names, size in points), for the tests of every document the services produce."""

from __future__ import annotations

import re

import pytest
from docx.document import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn

# A4 and the margins: top 37, bottom 35, left 28, right 26 mm.
A4_WITH_MARGINS_MM = [210, 297, 37, 35, 28, 26]
TITLE_FONT = ("方正小标宋简体", "方正小标宋简体", 22.0)  # 2号
BODY_FONT = ("仿宋_GB2312", "仿宋_GB2312", 16.0)  # 3号
# 一、 in 黑体 and （一） in 楷体 are headings, not body text.
_HEADING = re.compile(r"^(?:[一二三四五六七八九十]+、|（[一二三四五六七八九十]+）)")


def page_mm(doc: Document) -> list[float]:
    s = doc.sections[0]
    return [
        s.page_width.mm,
        s.page_height.mm,
        s.top_margin.mm,
        s.bottom_margin.mm,
        s.left_margin.mm,
        s.right_margin.mm,
    ]


def font(run) -> tuple[str | None, str | None, float | None]:
    """(Latin name, East-Asian name, size in pt) as set on the run."""
    fonts = run._element.rPr.rFonts if run._element.rPr is not None else None
    east_asian = fonts.get(qn("w:eastAsia")) if fonts is not None else None
    return run.font.name, east_asian, run.font.size.pt if run.font.size else None


def assert_official_layout(doc: Document, title: str) -> None:
    """The page, the title (小标宋 2号, centred, first) and every body paragraph's runs (仿宋 3号)."""
    assert page_mm(doc) == pytest.approx(A4_WITH_MARGINS_MM, abs=0.05)
    first = doc.paragraphs[0]
    assert first.text == title and first.alignment == WD_ALIGN_PARAGRAPH.CENTER
    assert {font(r) for r in first.runs} == {TITLE_FONT}
    body = [r for p in doc.paragraphs[1:] if not _HEADING.match(p.text) for r in p.runs if r.text]
    assert body and {font(r) for r in body} == {BODY_FONT}
