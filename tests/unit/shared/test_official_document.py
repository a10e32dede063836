"""The 公文 layout module on its own: every figure of GB/T 9704-2012 read back from the saved file."""

from __future__ import annotations

import io
from datetime import date

import pytest
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn

from shared.official_document import OfficialDocument, chinese_date
from tests.official_document_kit import BODY_FONT, assert_official_layout, font


def _saved(doc: OfficialDocument):
    return Document(io.BytesIO(doc.to_bytes()))


@pytest.mark.parametrize(
    ("day", "written"),
    [(date(2025, 7, 2), "2025年7月2日"), (date(2024, 12, 31), "2024年12月31日"), (date(2026, 1, 10), "2026年1月10日")],
)
def test_the_date_is_written_in_full_without_leading_zeros(day, written):
    assert chinese_date(day) == written


def test_a_document_reads_back_with_the_standards_page_fonts_and_closing():
    doc = OfficialDocument()
    doc.title("调整保障金通知书")
    doc.paragraph("张三：", indent=False)
    doc.paragraph("你家享受的最低生活保障金调整为每月1200.00元。")
    doc.heading("一、调整依据", 1)
    doc.heading("（一）计算依据", 2)
    doc.table([["参数", "取值"], ["dibao.standard.rural", "6000.00元/年"]])
    doc.closing("吴起县民政局", date(2025, 7, 2))
    saved = _saved(doc)

    assert_official_layout(saved, "调整保障金通知书")
    texts = [p.text for p in saved.paragraphs]
    headings = {p.text: font(p.runs[0]) for p in saved.paragraphs if p.text in ("一、调整依据", "（一）计算依据")}
    assert headings == {"一、调整依据": ("黑体", "黑体", 16.0), "（一）计算依据": ("楷体_GB2312", "楷体_GB2312", 16.0)}
    body = saved.paragraphs[texts.index("你家享受的最低生活保障金调整为每月1200.00元。")]
    assert body.paragraph_format.first_line_indent.pt == 32  # two characters of 16 pt
    assert saved.paragraphs[texts.index("张三：")].paragraph_format.first_line_indent is None
    closing = [p for p in saved.paragraphs if p.text][-2:]
    assert [(p.text, p.alignment) for p in closing] == [
        ("吴起县民政局", WD_ALIGN_PARAGRAPH.RIGHT),
        ("2025年7月2日", WD_ALIGN_PARAGRAPH.RIGHT),
    ]
    cells = [font(r) for row in saved.tables[0].rows for c in row.cells for p in c.paragraphs for r in p.runs]
    assert set(cells) == {("仿宋_GB2312", "仿宋_GB2312", 14.0)}  # 4号 in tables
    # The default style names the East-Asian font too, so text typed later in Word is 仿宋 as well.
    normal = saved.styles["Normal"]
    assert normal.element.rPr.rFonts.get(qn("w:eastAsia")) == BODY_FONT[1] and normal.font.size.pt == 16
    # Page numbers: a PAGE field between dashes in the footer.
    footer = saved.sections[0].footer.paragraphs[0]
    assert footer.text.startswith("— ") and footer.text.endswith(" —")
    assert "PAGE" in footer._element.xml
