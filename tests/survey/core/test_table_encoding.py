"""Uploaded CSV tables are decoded by analysis.textfile, as the analysis command line's files are."""

from __future__ import annotations

import pytest

from survey.infrastructure.tables import TableError, read_table

COLUMNS = {"code": ("编码",), "name": ("名称",)}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_utf8_and_gb18030_tables_read_the_same(app, encoding):
    data = "编码,名称\nC1,第一社区\n".encode(encoding)
    with app.test_request_context():
        rows = read_table("units.csv", data, COLUMNS, ("code", "name"))
    assert [r.values for r in rows] == [{"code": "C1", "name": "第一社区"}]


def test_bytes_no_encoding_decodes_are_refused(app):
    with app.test_request_context(), pytest.raises(TableError) as caught:
        read_table("units.csv", "编码,名称\n".encode() + b"\xff", COLUMNS, ("code", "name"))
    assert len(caught.value.problems) == 1
