"""Dependencies point one way: survey -> questions, analysis. The pure
packages import no Flask, SQLAlchemy or survey code, not even inside functions;
and only questions/ knows question types by name."""

from __future__ import annotations

import ast
from pathlib import Path

import jinja2
import pytest
from jinja2 import nodes as jinja_nodes

from questions import QUESTION_TYPES

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = ("flask", "flask_wtf", "flask_babel", "flask_login", "flask_sqlalchemy", "sqlalchemy", "survey", "werkzeug")


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


@pytest.mark.parametrize("package", ["analysis", "questions"])
def test_pure_packages_import_no_web_or_database_code(package):
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for line, name in _imports(path)
        if name.split(".")[0] in FORBIDDEN
    ]
    assert not offenders, offenders


def test_the_checker_sees_function_level_imports(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from flask import g\n    return g\n")
    assert [name for _, name in _imports(sample)] == ["flask"]


# -- Question types are known only to questions/ ---------------------------------------------------------------------
#
# Each type in questions.types carries its widget, export text, tally and indicator coding, reached as
# ``question.kind``; code elsewhere asks the type (``q.kind.multiple``) instead of comparing ``q.type`` to a name.

TYPE_NAMES = frozenset(QUESTION_TYPES)
#: Type names that are also ordinary words elsewhere (a unit's level "community", <input type="number">):
#: they count only next to a ``.type``. The other names mean nothing but a question type.
COMMON_WORDS = frozenset({"number", "text", "community"})
TYPE_ONLY_NAMES = TYPE_NAMES - COMMON_WORDS


def _is_type_branch(literals: set, touches_type: bool) -> bool:
    names = literals & TYPE_NAMES
    return bool(names & TYPE_ONLY_NAMES or (names and touches_type))


def _python_type_branches(source: str) -> list[int]:
    """Lines of ``source`` that compare (or dispatch on) a question type and a type name."""
    tree = ast.parse(source)
    bound = {target.id: node.value for node in ast.walk(tree) if isinstance(node, (ast.Assign, ast.AnnAssign))
             and node.value is not None
             for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
             if isinstance(target, ast.Name)}

    def literals(node, seen=()) -> set:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return {node.value}
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return set().union(*(literals(item, seen) for item in node.elts))
        if isinstance(node, ast.Dict):
            return set().union(*(literals(key, seen) for key in node.keys if key is not None))
        if isinstance(node, ast.Name) and node.id in bound and node.id not in seen:
            return literals(bound[node.id], (*seen, node.id))
        return set()

    def is_type(node) -> bool:
        return ((isinstance(node, ast.Attribute) and node.attr == "type")
                or (isinstance(node, ast.Subscript) and literals(node.slice) == {"type"}))

    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if _is_type_branch(set().union(*map(literals, operands)), any(map(is_type, operands))):
                lines.append(node.lineno)
        elif isinstance(node, ast.Subscript) and is_type(node.slice):  # {"community": ...}[q.type]
            if _is_type_branch(literals(node.value), True):
                lines.append(node.lineno)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
              and node.args and is_type(node.args[0])):  # {...}.get(q.type)
            if _is_type_branch(literals(node.func.value), True):
                lines.append(node.lineno)
        elif isinstance(node, ast.Match) and is_type(node.subject):
            cases = {p.value.value for case in node.cases for p in ast.walk(case.pattern)
                     if isinstance(p, ast.MatchValue) and isinstance(p.value, ast.Constant)}
            if _is_type_branch(cases, True):
                lines.append(node.lineno)
    return lines


def _template_type_branches(source: str) -> list[int]:
    """Lines of a Jinja template that compare a question type and a type name."""
    tree = jinja2.Environment().parse(source)
    bound = {node.target.name: node.node for node in tree.find_all(jinja_nodes.Assign)
             if isinstance(node.target, jinja_nodes.Name)}

    def literals(node, seen=()) -> set:
        if isinstance(node, jinja_nodes.Const) and isinstance(node.value, str):
            return {node.value}
        if isinstance(node, (jinja_nodes.Tuple, jinja_nodes.List)):
            return set().union(*(literals(item, seen) for item in node.items))
        if isinstance(node, jinja_nodes.Dict):
            return set().union(*(literals(pair.key, seen) for pair in node.items))
        if isinstance(node, jinja_nodes.Name) and node.name in bound and node.name not in seen:
            return literals(bound[node.name], (*seen, node.name))
        return set()

    def is_type(node) -> bool:
        return ((isinstance(node, jinja_nodes.Getattr) and node.attr == "type")
                or (isinstance(node, jinja_nodes.Getitem) and literals(node.arg) == {"type"}))

    lines = []
    for node in tree.find_all(jinja_nodes.Compare):
        operands = [node.expr, *(op.expr for op in node.ops)]
        if _is_type_branch(set().union(*map(literals, operands)), any(map(is_type, operands))):
            lines.append(node.lineno)
    for node in tree.find_all(jinja_nodes.Test):  # q.type is sameas "text"
        if _is_type_branch(set().union(*map(literals, node.args)), is_type(node.node)):
            lines.append(node.lineno)
    for node in tree.find_all(jinja_nodes.Getitem):  # {"community": ...}[q.type]
        if is_type(node.arg) and _is_type_branch(literals(node.node), True):
            lines.append(node.lineno)
    return lines


def test_no_code_outside_questions_branches_on_question_type_names():
    sources = [(path, _python_type_branches) for package in ("survey", "analysis")
               for path in sorted((ROOT / package).rglob("*.py"))]
    sources += [(path, _template_type_branches) for path in sorted((ROOT / "templates").rglob("*.html"))]
    offenders = [f"{path.relative_to(ROOT)}:{line}"
                 for path, find in sources for line in find(path.read_text(encoding="utf-8"))]
    assert len(sources) > 100  # the walk found the code
    assert not offenders, f"ask the question's type (q.kind...) instead of comparing type names: {offenders}"


@pytest.mark.parametrize("source", [
    'if q.type == "satisfaction5":\n    pass\n',
    'x = [q for q in qs if q.type == "community"]\n',
    'x = text.split(";") if q.type == "multiple_choice" else (text,)\n',
    '_JSON_TYPES = ("multiple_choice", "number")\nok = question.type in _JSON_TYPES\n',
    'NUMERIC = ("number",)\nok = question.type in NUMERIC\n',
    'kind = q.type\nif kind != "yes_no":\n    pass\n',
    'ok = row["type"] == "text"\n',
    'widget = {"community": "select", "number": "input"}[q.type]\n',
    'widget = WIDGETS.get(q.type)\nWIDGETS = {"text": "textarea"}\n',
    'match q.type:\n    case "number":\n        pass\n',
])
def test_the_type_branch_checker_sees_python_branches(source):
    assert _python_type_branches(source)


@pytest.mark.parametrize("source", [
    '{% if q.type in ("single_choice", "satisfaction5", "yes_no", "multiple_choice") %}x{% endif %}',
    "<input type=\"{{ 'checkbox' if q.type == 'multiple_choice' else 'radio' }}\">",
    '{% if q.required and q.type != "multiple_choice" %} required{% endif %}',
    '{% if q.type == "community" %}<select></select>{% endif %}',
    '{% set numeric = ("number",) %}{% if q.type in numeric %}x{% endif %}',
    '{% if q.type is sameas "text" %}x{% endif %}',
])
def test_the_type_branch_checker_sees_template_branches(source):
    assert _template_type_branches(source)


def test_the_type_branch_checker_allows_other_words_and_asking_the_type():
    python = ('communities = [u for u in units if u.level == "community"]\n'
              'LEVELS = ("district", "street", "community")\nok = u.level in LEVELS\n'
              'if reason == "number":\n    pass\n'
              'if question.kind.answers_unit and question.kind.widget == "community":\n    pass\n'
              'qtype = QUESTION_TYPES[q.type]\n')
    assert _python_type_branches(python) == []
    template = ('{% if q.kind.widget == "number" %}<input type="number">{% endif %}'
                '{% if f.type in ("RadioField", "MultiCheckboxField") %}x{% endif %}'
                '{% if channel.unit.level == "community" %}x{% endif %}')
    assert _template_type_branches(template) == []


# --- the app's packages by kind (survey/{usecases,queries,renderers,infrastructure}) ---------

KINDS = ("usecases", "queries", "renderers", "infrastructure")
VIEWS = ("public", "console", "api")
WRITES = {"add", "add_all", "delete", "flush", "merge", "bulk_save_objects", "bulk_insert_mappings"}


def _app_modules(*packages: str):
    for package in packages:
        for path in sorted((ROOT / "survey" / package).rglob("*.py")):
            yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _relative_targets(path: Path, tree: ast.AST):
    """Modules a file imports, as dotted names under survey (relative imports resolved)."""
    package = path.relative_to(ROOT).with_suffix("").parts[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ((node.module,) if node.module else ()))
                yield node.lineno, module, [alias.name for alias in node.names]
            elif node.module:
                yield node.lineno, node.module, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []


def test_services_live_in_packages_by_kind():
    assert not (ROOT / "survey" / "services").exists()
    for kind in KINDS:
        assert (ROOT / "survey" / kind / "__init__.py").read_text(encoding="utf-8").startswith('"""')


def test_packages_by_kind_import_no_views_and_no_request():
    offenders = []
    for path, tree in _app_modules(*KINDS):
        for line, module, names in _relative_targets(path, tree):
            imported = [module] + [f"{module}.{n}" for n in names]
            if any(m.startswith(tuple(f"survey.{v}" for v in VIEWS)) for m in imported):
                offenders.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
            if module == "flask" and {"request", "session", "g"} & set(names):
                offenders.append(f"{path.relative_to(ROOT)}:{line} reads the request ({', '.join(names)})")
    assert offenders == []


def test_renderers_change_nothing_and_call_no_use_case():
    offenders = []
    for path, tree in _app_modules("renderers"):
        for line, module, names in _relative_targets(path, tree):
            if module.startswith("survey.usecases") or (module == "survey" and "usecases" in names):
                offenders.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert offenders == []


def _writes(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in WRITES:
            receiver = ast.unparse(node.func.value)
            if receiver.endswith("session"):
                yield node.lineno, f"{receiver}.{node.func.attr}()"
        if isinstance(node, ast.ImportFrom) and node.module == "sqlalchemy":
            for alias in node.names:
                if alias.name in ("insert", "update", "delete"):
                    yield node.lineno, f"sqlalchemy.{alias.name}"


def test_queries_and_renderers_do_not_write():
    offenders = [f"{path.relative_to(ROOT)}:{line}: {what}"
                 for path, tree in _app_modules("queries", "renderers")
                 for line, what in _writes(tree)]
    assert offenders == []


def test_the_write_checker_sees_a_write():
    tree = ast.parse("from sqlalchemy import delete\ndef f(session):\n    session.add(x)\n    db.session.flush()\n")
    assert [what for _, what in _writes(tree)] == ["sqlalchemy.delete", "session.add()", "db.session.flush()"]


def test_views_hold_no_queries():
    """Pages ask the packages by kind; a view looks up at most a row by its id (``session.get``)."""
    offenders = []
    for path, tree in _app_modules(*VIEWS):
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in ("scalars", "scalar", "execute", "query"):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node.func)}()")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "select":
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: select()")
    assert offenders == []
