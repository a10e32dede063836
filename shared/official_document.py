"""党政机关公文格式 (GB/T 9704-2012) for the .docx documents the bureau signs, sends and edits: one layout for
every service's documents (eligibility's 审核确认表 and 通知书, payments' 工作总结).

A4 (210 × 297 mm); margins top 37 mm, bottom 35 mm, left 28 mm, right 26 mm (版心 156 × 225 mm); the title in
小标宋 2号 (22 pt), centred; the body in 仿宋 3号 (16 pt), each paragraph indented two characters; headings of the
first level (一、) in 黑体 and of the second ((一)) in 楷体, both 3号; the issuing body and the date (成文日期, in
Arabic figures: 2025年7月2日) at the end, right-aligned. The fonts are named in `w:eastAsia` too, which is what Word
reads for Chinese characters (python-docx's `font.name` sets only the Latin slots)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.table import Table
from docx.text.paragraph import Paragraph
from docx.text.run import Run

PAGE_WIDTH, PAGE_HEIGHT = Mm(210), Mm(297)
MARGINS = {"top_margin": Mm(37), "bottom_margin": Mm(35), "left_margin": Mm(28), "right_margin": Mm(26)}
TITLE_FONT, TITLE_SIZE = "方正小标宋简体", Pt(22)  # 2号
BODY_FONT, BODY_SIZE = "仿宋_GB2312", Pt(16)  # 3号
HEADING_FONTS = {1: "黑体", 2: "楷体_GB2312"}
TABLE_SIZE = Pt(14)  # 4号: a form's cells hold more than a line of body text
# 22 lines of 28 characters on the 225 mm 版心: a fixed line pitch of about 28.95 pt.
LINE_PITCH = Pt(28.95)


def chinese_date(day: date) -> str:
    """成文日期 as GB/T 9704-2012 writes it: 2025年7月2日 (the year in full, no leading zeros)."""
    return f"{day.year}年{day.month}月{day.day}日"


def set_font(run: Run, name: str, size: Pt, *, bold: bool = False) -> None:
    """The run's font for Latin and East-Asian text alike."""
    run.font.name = name
    run.font.size = size
    run.font.bold = bold
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), name)


class OfficialDocument:
    """A .docx laid out as a 公文: add the title, headings, paragraphs, tables and the closing, then `to_bytes`."""

    def __init__(self) -> None:
        self.document = Document()
        section = self.document.sections[0]
        section.page_width, section.page_height = PAGE_WIDTH, PAGE_HEIGHT
        for margin, value in MARGINS.items():
            setattr(section, margin, value)
        normal = self.document.styles["Normal"]
        normal.font.name, normal.font.size = BODY_FONT, BODY_SIZE
        normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), BODY_FONT)
        spacing = normal.paragraph_format
        spacing.line_spacing_rule, spacing.line_spacing = WD_LINE_SPACING.EXACTLY, LINE_PITCH
        spacing.space_before = spacing.space_after = Pt(0)
        self._page_numbers()

    def _paragraph(
        self, text: str, font: str, size: Pt, *, align: WD_ALIGN_PARAGRAPH | None = None, indent: bool = False
    ) -> Paragraph:
        paragraph = self.document.add_paragraph()
        if align is not None:
            paragraph.alignment = align
        if indent:
            paragraph.paragraph_format.first_line_indent = Pt(size.pt * 2)  # two characters
        if text:
            set_font(paragraph.add_run(text), font, size)
        return paragraph

    def title(self, text: str) -> Paragraph:
        """标题: 小标宋 2号, centred, a blank line after."""
        paragraph = self._paragraph(text, TITLE_FONT, TITLE_SIZE, align=WD_ALIGN_PARAGRAPH.CENTER)
        paragraph.paragraph_format.line_spacing = Pt(35)  # a 2号 line does not fit the body's pitch
        self.blank()
        return paragraph

    def heading(self, text: str, level: int = 1) -> Paragraph:
        """结构层次序数: 一、 in 黑体, （一） in 楷体; indented like the body."""
        return self._paragraph(text, HEADING_FONTS[level], BODY_SIZE, indent=True)

    def paragraph(self, text: str, *, indent: bool = True) -> Paragraph:
        """正文: 仿宋 3号, indented two characters (a salutation such as 张三： is not)."""
        return self._paragraph(text, BODY_FONT, BODY_SIZE, indent=indent)

    def blank(self) -> Paragraph:
        return self._paragraph("", BODY_FONT, BODY_SIZE)

    def table(self, rows: Sequence[Sequence[str]], *, header: bool = True, widths_mm: Sequence[float] = ()) -> Table:
        """A bordered table in 仿宋 4号 (the first row bold when it is a header); its cells keep single lines."""
        table = self.document.add_table(rows=len(rows), cols=max(len(r) for r in rows))
        table.style = "Table Grid"
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        # Row by row: `table.cell(i, j)` walks the whole table for every cell.
        for i, (row, values) in enumerate(zip(table.rows, rows, strict=True)):
            for j, (cell, text) in enumerate(zip(row.cells, values, strict=False)):
                if widths_mm:
                    cell.width = Mm(widths_mm[j])
                paragraph = cell.paragraphs[0]
                paragraph.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
                set_font(paragraph.add_run(text), BODY_FONT, TABLE_SIZE, bold=header and i == 0)
        return table

    def closing(self, issuer: str, on: date) -> None:
        """发文机关署名 and 成文日期, right-aligned after a blank line (a line for the seal, 印章, between)."""
        self.blank()
        for text in (issuer, chinese_date(on)):
            paragraph = self._paragraph(text, BODY_FONT, BODY_SIZE, align=WD_ALIGN_PARAGRAPH.RIGHT)
            paragraph.paragraph_format.right_indent = Pt(BODY_SIZE.pt * 4)  # 右空四字

    def _page_numbers(self) -> None:
        """页码: — 1 — in the footer, centred, 4号 (a PAGE field Word fills in)."""
        footer = self.document.sections[0].footer.paragraphs[0]
        footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
        set_font(footer.add_run("— "), BODY_FONT, TABLE_SIZE)
        run = footer.add_run()
        set_font(run, BODY_FONT, TABLE_SIZE)
        for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
            if kind:
                element = OxmlElement("w:fldChar")
                element.set(qn("w:fldCharType"), kind)
            else:
                element = OxmlElement("w:instrText")
                element.set(qn("xml:space"), "preserve")
                element.text = text
            run._element.append(element)
        set_font(footer.add_run(" —"), BODY_FONT, TABLE_SIZE)

    def to_bytes(self) -> bytes:
        out = io.BytesIO()
        self.document.save(out)
        return out.getvalue()
