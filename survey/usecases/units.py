"""Importing the unit tree and its population figures, all or nothing."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from questions import Questionnaire, load_standard

from ..infrastructure.tables import TableError, read_table
from ..models import PopulationCell, QuestionnaireVersion, Unit
from ..models.unit import UNIT_LEVELS

UNIT_COLUMNS = {
    "code": ("编码", "代码", "单位编码"),
    "name": ("名称", "单位名称"),
    "parent": ("上级编码", "上级", "parent_code"),
    "level": ("级别", "层级"),
}
LEVEL_NAMES = {"区": "district", "县": "district", "街道": "street", "乡镇": "street", "镇": "street",
               "社区": "community", "村": "community"}
POPULATION_COLUMNS = {
    "unit": ("单位编码", "编码", "unit_code"),
    "gender": ("性别",),
    "age_group": ("年龄组", "年龄段"),
    "population": ("人口", "人数"),
}
#: Lengths of the units table's columns; one cell of population, far above any unit's.
MAX_CODE_LENGTH = 64
MAX_NAME_LENGTH = 200
MAX_POPULATION = 100_000_000
#: Common ways of writing the standard categories, besides the questionnaires' own labels.
GENDER_NAMES = {"男": "male", "女": "female"}
AGE_GROUP_NAMES = {"18-29": "18_29", "18—29岁": "18_29", "30-44": "30_44", "30—44岁": "30_44",
                   "45-59": "45_59", "45—59岁": "45_59", "60+": "60_plus", "60岁及以上": "60_plus"}


@dataclass(frozen=True)
class PopulationCategories:
    """The genders and age groups population figures may use: those of the
    questionnaires' gender and age-group questions (the weighting matches
    answers to figures by code), accepted by code or by label."""

    codes: dict[str, dict[str, str]]  # variable -> {accepted text: code}
    labels: dict[str, list[tuple[str, str]]]  # variable -> [(code, Chinese label)], for help texts

    def code(self, variable: str, text: str) -> str | None:
        return self.codes[variable].get(text.strip())


@cache
def _standard() -> Questionnaire:
    return load_standard()


def population_categories(session: Session) -> PopulationCategories:
    """From the standard questionnaire and every stored questionnaire version."""
    codes = {"gender": dict(GENDER_NAMES), "age_group": dict(AGE_GROUP_NAMES)}
    labels: dict[str, dict[str, str]] = {"gender": {}, "age_group": {}}
    questionnaires = [_standard(), *(v.parsed for v in session.scalars(select(QuestionnaireVersion)))]
    for questionnaire in questionnaires:
        for q in questionnaire.questions:
            if q.variable not in codes:
                continue
            for option in q.options:
                for text in (option.code, option.label.zh, option.label.en):
                    if text:
                        codes[q.variable].setdefault(text.strip(), option.code)
                labels[q.variable].setdefault(option.code, option.label.zh or option.code)
    return PopulationCategories(codes, {k: list(v.items()) for k, v in labels.items()})


def import_units(session: Session, filename: str, data: bytes) -> dict[str, int]:
    """Create or update units from a file with code, name, parent code and
    (optionally) level; a unit without a level takes it from its depth.

    Nothing is written unless every row is valid. Flushes.

    :raises TableError: with every problem, by row number.
    """
    rows = read_table(filename, data, UNIT_COLUMNS, required=("code", "name"))
    problems: list[str] = []
    existing = {u.code: u for u in session.scalars(select(Unit))}
    seen: dict[str, int] = {}
    parents: dict[str, str] = {}
    levels: dict[str, str | None] = {}
    for row in rows:
        code, name = row.values["code"], row.values["name"]
        if not code or not name:
            problems.append(_("Row %(row)s: code and name are required.", row=row.number))
            continue
        if len(code) > MAX_CODE_LENGTH or len(name) > MAX_NAME_LENGTH:
            problems.append(_("Row %(row)s: a code may have at most %(code)s characters and a name at most %(name)s.",
                              row=row.number, code=MAX_CODE_LENGTH, name=MAX_NAME_LENGTH))
            continue
        if code in seen:
            problems.append(_("Row %(row)s: code %(code)s already appears in row %(first)s.",
                              row=row.number, code=code, first=seen[code]))
            continue
        seen[code] = row.number
        parents[code] = row.values.get("parent", "")
        level = row.values.get("level", "")
        level = LEVEL_NAMES.get(level, level) or None
        if level is not None and level not in UNIT_LEVELS:
            problems.append(_("Row %(row)s: unknown level %(level)s (use 区, 街道 or 社区).",
                              row=row.number, level=row.values["level"]))
        levels[code] = level
    for code, parent in parents.items():
        if parent and parent not in seen and parent not in existing:
            problems.append(_("Row %(row)s: parent code %(parent)s is not in the file or the system.",
                              row=seen[code], parent=parent))
    depth: dict[str, int] = {}

    def parent_of(code: str) -> str:
        if code in parents:
            return parents[code]
        unit = existing[code]
        return unit.parent.code if unit.parent is not None else ""

    def depth_of(code: str) -> int:
        chain = [code]
        while parent := parent_of(chain[-1]):
            if parent in chain or len(chain) > len(parents) + len(existing):
                raise ValueError(code)
            chain.append(parent)
        return len(chain) - 1

    if not problems:
        for code in parents:
            try:
                d = depth[code] = depth_of(code)
            except ValueError:
                problems.append(_("Row %(row)s: the parent chain of %(code)s loops back to itself.",
                                  row=seen[code], code=code))
                break
            if d > 2:
                problems.append(_("Row %(row)s: %(code)s is more than three levels deep (区 → 街道 → 社区).",
                                  row=seen[code], code=code))
            elif levels[code] and levels[code] != UNIT_LEVELS[d]:
                problems.append(_("Row %(row)s: %(code)s is given level %(given)s but sits at level %(actual)s.",
                                  row=seen[code], code=code, given=levels[code], actual=UNIT_LEVELS[d]))
    if problems:
        raise TableError(problems)

    created = updated = 0
    units = dict(existing)
    for row in rows:
        code = row.values["code"]
        unit = units.get(code)
        if unit is None:
            unit = Unit(code=code, name=row.values["name"], level=UNIT_LEVELS[depth[code]])
            session.add(unit)
            units[code] = unit
            created += 1
        else:
            unit.name, unit.level = row.values["name"], UNIT_LEVELS[depth[code]]
            updated += 1
    for code, parent in parents.items():
        units[code].parent = units[parent] if parent else None
    session.flush()
    return {"created": created, "updated": updated}


def import_population(session: Session, filename: str, data: bytes) -> dict[str, int]:
    """Replace the population cells of every unit named in the file.

    :raises TableError: with every problem, by row number.
    """
    rows = read_table(filename, data, POPULATION_COLUMNS, required=tuple(POPULATION_COLUMNS))
    units = {u.code: u for u in session.scalars(select(Unit))}
    categories = population_categories(session)
    problems: list[str] = []
    cells: dict[tuple[str, str, str], int] = {}
    for row in rows:
        v = row.values
        gender = categories.code("gender", v["gender"])
        age = categories.code("age_group", v["age_group"])
        if v["unit"] not in units:
            problems.append(_("Row %(row)s: unknown unit code %(code)s.", row=row.number, code=v["unit"]))
        if not v["gender"] or not v["age_group"]:
            problems.append(_("Row %(row)s: gender and age group are required.", row=row.number))
        else:
            if gender is None:
                problems.append(_("Row %(row)s: unknown gender %(value)s; use one of %(known)s.", row=row.number,
                                  value=v["gender"], known=_known(categories, "gender")))
            if age is None:
                problems.append(_("Row %(row)s: unknown age group %(value)s; use one of %(known)s.", row=row.number,
                                  value=v["age_group"], known=_known(categories, "age_group")))
        try:
            count = int(v["population"].replace(",", ""))
            if count < 0:
                raise ValueError
        except ValueError:
            problems.append(_("Row %(row)s: population must be a whole number of 0 or more, not %(value)s.",
                              row=row.number, value=v["population"]))
            continue
        if count > MAX_POPULATION:
            problems.append(_("Row %(row)s: population %(value)s is larger than any unit's (at most %(max)s).",
                              row=row.number, value=v["population"], max=MAX_POPULATION))
            continue
        key = (v["unit"], gender, age)
        if key in cells:
            problems.append(_("Row %(row)s: the same unit, gender and age group appear twice.", row=row.number))
        cells[key] = count
    if problems:
        raise TableError(problems)
    unit_ids = {units[code].id for code, _g, _a in cells}
    session.execute(delete(PopulationCell).where(PopulationCell.unit_id.in_(unit_ids)))
    for (code, gender, age), count in cells.items():
        session.add(PopulationCell(unit=units[code], gender=gender, age_group=age, population=count))
    session.flush()
    return {"cells": len(cells), "units": len(unit_ids)}


def _known(categories: PopulationCategories, variable: str) -> str:
    return "、".join(label for _code, label in categories.labels[variable])
