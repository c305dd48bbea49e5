"""Importing units and population from CSV and Excel: all or nothing, every
problem named by row, in Chinese."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from survey.extensions import db
from survey.infrastructure.tables import TableError
from survey.models import PopulationCell, Unit
from survey.usecases.units import import_population, import_units

UNITS_CSV = """编码,名称,上级编码
D9,测试区,
D9-S1,甲街道,D9
D9-S1-C1,一社区,D9-S1
D9-S1-C2,二社区,D9-S1
D9-S2,乙街道,D9
D9-S2-C1,三社区,D9-S2
"""


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_units_from_csv_build_the_tree(app):
    result = import_units(db.session, "units.csv", UNITS_CSV.encode("utf-8-sig"))
    assert result == {"created": 6, "updated": 0}
    c1 = db.session.scalars(select(Unit).where(Unit.code == "D9-S1-C1")).one()
    assert (c1.level, c1.parent.code, c1.parent.level, c1.parent.parent.level) == ("community", "D9-S1", "street", "district")
    # Importing again updates names in place.
    again = import_units(db.session, "units.csv", UNITS_CSV.replace("一社区", "第一社区").encode())
    assert again == {"created": 0, "updated": 6}
    assert c1.name == "第一社区"


def test_units_from_gbk_csv_and_from_excel(app):
    import_units(db.session, "units.csv", UNITS_CSV.encode("gb18030"))
    assert _count(Unit) == 6
    book = Workbook()
    sheet = book.active
    sheet.append(["code", "name", "parent", "level"])
    sheet.append(["D9-S1-C3", "四社区", "D9-S1", "社区"])
    buffer = io.BytesIO()
    book.save(buffer)
    import_units(db.session, "more.xlsx", buffer.getvalue())
    assert db.session.scalars(select(Unit).where(Unit.code == "D9-S1-C3")).one().parent.code == "D9-S1"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("名称\n某区\n", "缺少列"),
        ("编码,名称,上级编码\nA,甲区,\nA,乙区,\n", "第3行"),
        ("编码,名称,上级编码\nA,甲区,\nB,乙街道,Z\n", "上级编码 Z"),
        ("编码,名称,上级编码\nA,甲,B\nB,乙,A\n", "循环"),
        ("编码,名称,上级编码\nA,甲,\nB,乙,A\nC,丙,B\nD,丁,C\n", "三级"),
        ("编码,名称,上级编码,级别\nA,甲,,社区\n", "级别"),
        ("编码,名称,上级编码,级别\nA,甲,,省\n", "未知级别"),
        ("编码,名称\n,甲\n", "第2行"),
    ],
)
def test_broken_unit_files_change_nothing(app, content, expected):
    with pytest.raises(TableError) as raised:
        import_units(db.session, "units.csv", content.encode())
    assert expected in str(raised.value)
    assert _count(Unit) == 0


def test_unsupported_and_damaged_files(app):
    with pytest.raises(TableError, match="CSV"):
        import_units(db.session, "units.pdf", b"%PDF")
    with pytest.raises(TableError, match="Excel"):
        import_units(db.session, "units.xlsx", b"not a zip")
    with pytest.raises(TableError, match="空"):
        import_units(db.session, "units.csv", b"")


def test_population_import_and_replace(app):
    import_units(db.session, "units.csv", UNITS_CSV.encode())
    rows = ["单位编码,性别,年龄组,人口"]
    rows += [f"D9-S1-C1,{g},{a},{n}" for g in ("男", "女") for a, n in (("18_29", 100), ("60_plus", 80))]
    result = import_population(db.session, "pop.csv", "\n".join(rows).encode())
    assert result == {"cells": 4, "units": 1}
    assert {(c.gender, c.age_group, c.population) for c in db.session.scalars(select(PopulationCell))} == {
        ("male", "18_29", 100), ("male", "60_plus", 80), ("female", "18_29", 100), ("female", "60_plus", 80)}
    import_population(db.session, "pop.csv", "单位编码,性别,年龄组,人口\nD9-S1-C1,男,18_29,\"1,200\"\n".encode())
    assert _count(PopulationCell) == 1


def test_population_labels_are_the_questionnaires_codes_or_labels(app):
    import_units(db.session, "units.csv", UNITS_CSV.encode())
    rows = "单位编码,性别,年龄组,人口\nD9-S1-C1,Female,60岁及以上,5\nD9-S1-C1,male,30—44岁,7\nD9-S1-C1,女,45-59,9\n"
    import_population(db.session, "pop.csv", rows.encode())
    assert {(c.gender, c.age_group, c.population) for c in db.session.scalars(select(PopulationCell))} == {
        ("female", "60_plus", 5), ("male", "30_44", 7), ("female", "45_59", 9)}


@pytest.mark.parametrize(
    ("line", "expected"),
    [("XX,男,18_29,10", "未知单位"), ("D9-S1-C1,男,18_29,-3", "整数"), ("D9-S1-C1,男,18_29,many", "整数"),
     ("D9-S1-C1,,18_29,3", "性别"),
     # Labels the weighting would not recognise: refused, with the accepted ones listed.
     ("D9-S1-C1,男,18-29岁,3", "无法识别的年龄组“18-29岁”，请填写：18—29岁、30—44岁、45—59岁、60岁及以上"),
     ("D9-S1-C1,M,18_29,3", "无法识别的性别“M”，请填写：男、女")],
)
def test_broken_population_files_change_nothing(app, line, expected):
    import_units(db.session, "units.csv", UNITS_CSV.encode())
    import_population(db.session, "pop.csv", "单位编码,性别,年龄组,人口\nD9-S1-C1,女,18_29,5\n".encode())
    with pytest.raises(TableError) as raised:
        import_population(db.session, "pop.csv", f"单位编码,性别,年龄组,人口\nD9-S1-C2,男,18_29,7\n{line}\n".encode())
    assert expected in str(raised.value)
    assert [c.population for c in db.session.scalars(select(PopulationCell))] == [5]


def test_import_commands(app, runner, tmp_path):
    units = tmp_path / "units.csv"
    units.write_text(UNITS_CSV, encoding="utf-8")
    result = runner.invoke(args=["import-units", str(units)])
    assert result.exit_code == 0 and "6 created" in result.output
    pop = tmp_path / "pop.csv"
    pop.write_text("单位编码,性别,年龄组,人口\nD9-S1-C1,男,18_29,10\nXX,女,18_29,5\n", encoding="utf-8")
    result = runner.invoke(args=["import-population", str(pop)])
    assert result.exit_code != 0 and "第3行" in result.output and "nothing imported" in result.output
    assert _count(PopulationCell) == 0


# -- bounds (issue 9): every file read is bounded, every refusal names the row ----------

def _bomb_xlsx(rows: int, dimension: bool) -> bytes:
    """An .xlsx of a few hundred KB whose one sheet holds ``rows`` rows."""
    book = Workbook()
    book.active.append(["code", "name"])
    buffer = io.BytesIO()
    book.save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for member in source.infolist():
            body = source.read(member.filename)
            if member.filename == "xl/worksheets/sheet1.xml":
                head = re.sub(rb'<dimension ref="[^"]*"\s*/>', b"", body[:body.index(b"<sheetData")])
                if dimension:
                    head = head.replace(b"<sheetViews>", f'<dimension ref="A1:B{rows}"/><sheetViews>'.encode(), 1)
                cells = "".join(f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>C{r}</t></is></c></row>'
                                for r in range(1, rows + 1))
                body = head + f"<sheetData>{cells}</sheetData></worksheet>".encode()
            archive.writestr(member, body)
    return out.getvalue()


def test_a_bare_cr_ends_a_row(app):
    import_units(db.session, "units.csv", "编码,名称,上级编码\rZ9,新区,\rZ9-S1,新街道,Z9\r".encode())
    assert db.session.scalars(select(Unit).where(Unit.code == "Z9-S1")).one().parent.code == "Z9"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("编码,名称,上级编码\nZ9," + "长" * 140_000 + ",\n", "第2行"),  # past csv's own field limit
        ("编码,名称,上级编码\nZ9," + "长" * 600 + ",\n", "500"),
        ("编码,名称,上级编码\nZ9,新\x00区,\n", "控制字符"),
        ("编码,名称,上级编码\n" + "Z" * 65 + ",新区,\n", "64"),
        ("编码,名称,上级编码\n" + "".join(f"Z{i},区{i},\n" for i in range(20_001)), "20000"),
        ("编码,名称,上级编码\nZ9,新区," + ",".join(["x"] * 60) + "\n", "50"),
    ],
)
def test_table_bounds_name_the_row_and_change_nothing(app, content, expected):
    with pytest.raises(TableError) as raised:
        import_units(db.session, "units.csv", content.encode())
    assert expected in str(raised.value)
    assert _count(Unit) == 0


def test_population_beyond_any_unit_is_refused(app):
    import_units(db.session, "units.csv", UNITS_CSV.encode())
    with pytest.raises(TableError, match="第2行"):
        import_population(db.session, "p.csv", "单位编码,性别,年龄组,人口\nD9-S1-C1,男,18-29,99999999999999999999\n".encode())
    assert _count(PopulationCell) == 0


@pytest.mark.parametrize("dimension", [True, False])
def test_an_xlsx_expanding_to_200000_rows_is_refused_quickly(app, dimension):
    import time

    data = _bomb_xlsx(200_000, dimension)
    assert len(data) < 2 * 1024 * 1024
    started = time.monotonic()
    with pytest.raises(TableError) as raised:
        import_units(db.session, "units.xlsx", data)
    assert time.monotonic() - started < 10
    assert "20000" in str(raised.value) or "MB" in str(raised.value)
    assert _count(Unit) == 0


def test_an_xlsx_declaring_a_huge_expansion_is_refused_unread(app):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"<worksheet/>")
    data = bytearray(out.getvalue())
    entry = data.rfind(b"PK\x01\x02")  # central directory: uncompressed size at offset 24
    data[entry + 24:entry + 28] = (3_000_000_000).to_bytes(4, "little")
    with pytest.raises(TableError, match="MB"):
        import_units(db.session, "units.xlsx", bytes(data))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("questions: " + "[" * 5000 + "]" * 5000, "20 层"),
        ("\n".join(["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
                   + [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]), "50000"),
        ('code: "x\\0"\n', "控制字符"),
        ("code: x\nversion: 2024-01-01\n", "引号"),
        ("code: [\n", "YAML"),
    ],
)
def test_questionnaire_files_are_read_within_bounds(app, content, expected):
    from survey.exceptions import SetupError
    from survey.usecases.questionnaires import read_questionnaire_file

    with pytest.raises(SetupError) as raised:
        read_questionnaire_file("q.yaml", content.encode())
    assert expected in str(raised.value)
    with pytest.raises(SetupError, match="UTF-8"):
        read_questionnaire_file("q.yaml", b"\xff\xfe\x00")
