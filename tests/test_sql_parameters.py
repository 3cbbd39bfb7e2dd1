"""SQL only with parameters (issue 17): every SQL text the bot hands to SQLite is built from
constants alone; values travel as parameters.

The check walks the source of ``bot/`` (ast). A SQL text is an argument of ``execute``,
``executemany``, ``executescript``, ``query``, sqlite-utils' ``rows_where`` / ``count_where`` /
``delete_where``, or of any function of the bot's with a parameter named ``where`` (a SQL
fragment its callers write, checked at each call instead). It may be a string constant, or an
f-string or ``+`` of such whose interpolated parts are provably not data: a loop variable over
a literal of constants, a name asserted to be one of a literal's constants, ``int(...)``, a
join of constant placeholders, or a name assigned only such text in the same function.
sqlite-utils' own table API (``insert``, ``update``, ``upsert``) quotes names itself and is
not SQL text.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.storage import open_database
from bot.storage.database import known_column

BOT = Path(__file__).resolve().parent.parent / "bot"
_SQL_METHODS = {"execute", "executemany", "executescript", "query", "rows_where", "count_where",
                "delete_where"}  # fmt: skip
_FRAGMENTS = ("where", "sql")


def _is_constant_literal(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return all(_is_constant_literal(element) for element in node.elts)
    return False


class _Function:
    """What one function tells about its names: assignments, constant loops, asserts."""

    def __init__(self, function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Module) -> None:
        self.assigned: dict[str, list[ast.expr]] = {}
        self.constant: set[str] = set()
        self.parameters: set[str] = set()
        if not isinstance(function, ast.Module):
            self.parameters = {arg.arg for arg in function.args.args + function.args.kwonlyargs}
        for node in ast.walk(function):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        self.assigned.setdefault(target.id, []).append(node.value)
            elif isinstance(node, ast.For | ast.comprehension):
                iterable = node.iter
                if isinstance(iterable, ast.Name):
                    values = self.assigned.get(iterable.id, [])
                    literal = bool(values) and all(_is_constant_literal(v) for v in values)
                else:
                    literal = _is_constant_literal(iterable)
                if literal:
                    self.constant |= {
                        n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)
                    }
                elif (isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Name)
                      and iterable.func.id == "enumerate" and isinstance(node.target, ast.Tuple)
                      and isinstance(node.target.elts[0], ast.Name)):  # fmt: skip
                    self.constant.add(node.target.elts[0].id)  # the count: an int
            elif isinstance(node, ast.Assert):
                test = node.test
                if (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
                        and isinstance(test.ops[0], ast.In)
                        and _is_constant_literal(test.comparators[0])):  # fmt: skip
                    self.constant.add(test.left.id)


def _safe(node: ast.expr, scope: _Function, fragments: set[str], seen: frozenset[str]) -> bool:
    """Whether ``node`` evaluates to SQL text made of constants only."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return all(
            isinstance(part, ast.Constant) or _safe_part(part.value, scope, fragments, seen)
            for part in node.values
            if isinstance(part, ast.Constant | ast.FormattedValue)
        )
    if isinstance(node, ast.IfExp):
        return _safe(node.body, scope, fragments, seen) and _safe(
            node.orelse, scope, fragments, seen
        )
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _safe(node.left, scope, fragments, seen) and _safe(
            node.right, scope, fragments, seen
        )
    if isinstance(node, ast.Name):
        if node.id in fragments and node.id in scope.parameters:
            return True  # a ``where`` fragment: each caller's text is checked at the call
        values = scope.assigned.get(node.id, [])
        return (node.id not in seen and bool(values)
                and all(_safe(v, scope, fragments, seen | {node.id}) for v in values))  # fmt: skip
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "join"
        and isinstance(node.func.value, ast.Constant)
    ):
        # ", ".join("?" for _ in values): placeholders, however many
        generator = node.args[0] if node.args else None
        if isinstance(generator, ast.GeneratorExp | ast.ListComp):
            return _safe(generator.elt, scope, fragments, seen)
    return False


def _safe_part(node: ast.expr, scope: _Function, fragments: set[str], seen: frozenset[str]) -> bool:
    if isinstance(node, ast.Name) and node.id in scope.constant:
        return True
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return node.func.id in ("int", "known_column")  # a number; a name the schema has
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and not node.args
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in scope.constant
    ):
        return True  # event.lower() of a constant
    return _safe(node, scope, fragments, seen)


Positions = dict[Path, dict[str, int]]


def _module_path(module: str) -> Path:
    path = BOT.parent.joinpath(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


Imports = dict[Path, dict[str, tuple[Path, str]]]


def _imports(trees: dict[Path, ast.Module]) -> Imports:
    """Per module, each name imported from the bot: where from and under which name."""
    imports: Imports = {}
    for path, tree in trees.items():
        names = imports.setdefault(path, {})
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bot"):
                for alias in node.names:
                    names[alias.asname or alias.name] = (_module_path(node.module), alias.name)
    return imports


def _visible(path: Path, imports: Imports, positions: Positions) -> dict[str, int]:
    """The SQL-taking functions a module can call by name: its own and those it imports
    (directly or re-exported by a package's ``__init__``)."""
    visible = dict(positions.get(path, {}))
    for local, (source, name) in imports.get(path, {}).items():
        for _hop in range(3):
            if name in positions.get(source, {}):
                visible[local] = positions[source][name]
                break
            if name not in imports.get(source, {}):
                break
            source, name = imports[source][name]
    return visible


def _fragment_positions(trees: dict[Path, ast.Module]) -> Positions:
    """The bot's functions taking SQL from their callers: a parameter named ``where`` or
    ``sql`` that reaches a SQL argument (directly or through another such function); per
    module, name -> that parameter's position."""
    positions: Positions = {}
    imports = _imports(trees)
    changed = True
    while changed:
        changed = False
        for path, tree in trees.items():
            visible = _visible(path, imports, positions)
            for function in ast.walk(tree):
                if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                names = [arg.arg for arg in function.args.args]
                for name in set(names) & set(_FRAGMENTS):
                    if function.name in positions.get(path, {}):
                        continue
                    reaches = any(
                        isinstance(used, ast.Name) and used.id == name
                        for call in ast.walk(function) if isinstance(call, ast.Call)
                        for argument in _sql_arguments(call, visible)
                        for used in ast.walk(argument)
                    )  # fmt: skip
                    if reaches:
                        offset = names[0] in ("self", "cls")
                        positions.setdefault(path, {})[function.name] = names.index(name) - offset
                        changed = True
    return positions


def _sql_arguments(call: ast.Call, fragments: dict[str, int]) -> Iterator[ast.expr]:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    if isinstance(func, ast.Attribute) and name in _SQL_METHODS and call.args:
        yield call.args[0]
    if name in fragments and len(call.args) > fragments[name]:
        yield call.args[fragments[name]]


def unsafe_sql(trees: dict[Path, ast.Module]) -> list[str]:
    positions, imports = _fragment_positions(trees), _imports(trees)
    found = []
    for path, tree in trees.items():
        fragments = _visible(path, imports, positions)
        scopes = [
            n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        ]
        for function in [*scopes, tree]:
            scope = _Function(function)
            body = function.body if not isinstance(function, ast.Module) else [
                s for s in function.body if not isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef
                                                           | ast.ClassDef)]  # fmt: skip
            for statement in body:
                for node in ast.walk(statement):
                    if not isinstance(node, ast.Call):
                        continue
                    for argument in _sql_arguments(node, fragments):
                        if not _safe(argument, scope, set(_FRAGMENTS), frozenset()):
                            found.append(f"{path.relative_to(BOT.parent)}:{node.lineno}: "
                                         f"{ast.unparse(argument)[:80]}")  # fmt: skip
    return sorted(set(found))


def _parse(sources: dict[str, str]) -> dict[Path, ast.Module]:
    return {BOT / name: ast.parse(text) for name, text in sources.items()}


def test_the_bot_builds_sql_from_constants_only() -> None:
    trees = {path: ast.parse(path.read_text(encoding="utf-8")) for path in BOT.rglob("*.py")}
    assert unsafe_sql(trees) == []


def test_the_check_finds_sql_built_from_data() -> None:
    """Each way of building SQL from a value is found; the safe shapes beside them are not."""
    found = unsafe_sql(_parse({"bad.py": '''
def a(db, name):
    db.execute(f"SELECT * FROM users WHERE name = '{name}'")
def b(db, name):
    db.query("SELECT * FROM users WHERE name = '%s'" % name)
def c(db, name):
    db.query("SELECT * FROM users WHERE name = '{}'".format(name))
def d(db, name):
    sql = "SELECT * FROM users WHERE name = '" + name + "'"
    db.execute(sql)
def e(db, column):
    db.table("orders").count_where(f"{column} = ?", [1])
def orders_where(db, where, params):
    return db.query(f"SELECT * FROM orders WHERE {where}", params)
def f(db, name):
    orders_where(db, f"name = '{name}'", [])
''', "good.py": '''
def g(db, name, statuses):
    db.execute("SELECT * FROM users WHERE name = ?", [name])
    for column in ("a TEXT", "b TEXT"):
        db.execute(f"ALTER TABLE t ADD COLUMN {column}")
    marks = ", ".join("?" for _ in statuses)
    db.query(f"SELECT * FROM orders WHERE status IN ({marks})", statuses)
    db.execute(f"PRAGMA user_version = {int(name)}")
def h(db, column):
    assert column in ("user_id", "space_id")
    db.table("orders").count_where(f"{column} = ?", [1])
def orders_where(db, where, params):
    return db.query(f"SELECT * FROM orders WHERE {where}", params)
def i(db):
    orders_where(db, "status = ?", [1])
'''}))  # fmt: skip
    assert [line.split(":")[1] for line in found if line.startswith("bot/bad.py")] == [
        "10", "12", "16", "3", "5", "7"]  # fmt: skip
    assert not [line for line in found if line.startswith("bot/good.py")]


def test_a_column_name_in_sql_text_must_be_the_schemas(tmp_path: Path) -> None:
    db = open_database(tmp_path / "bot.sqlite3")
    assert known_column(db, "orders", "status") == "[status]"
    with pytest.raises(ValueError, match="no column"):
        known_column(db, "orders", "status] = 'x', [user_id")
