"""Every Firestore query in the code that needs a composite index has one in Terraform.

The emulator runs any query without indexes; production refuses a query that combines
a filter with an order on another field (or orders on two fields) until its composite
index exists. This test finds query shapes in `shared/` and `functions/` and looks each
one up in `local.firestore_indexes` (infra/firestore.tf).

What the scanner understands (and its limits; it is deliberately conservative):
- Chains of calls on one expression (`db.collection(X).where(...).order_by(...)`, also
  `db.collection_group(X)...`, matched to indexes of that query scope), and a
  variable extended by later assignments in the same function (`q = q.where(...)`); an
  assignment may sit in an `if`, so both the extended and the unextended query count.
- Filters written `.where(filter=FieldFilter("field", "op", value))` or
  `.where("field", "op", value)`; orders `.order_by("field", direction=...)` with
  `Query.DESCENDING`, `"DESCENDING"` or the default ascending.
- Collection ids given as string literals or module constants (also constants imported
  from another `shared` module).
It does not follow queries passed between functions, `Or`/`And` composite filters, field
names held in variables. A shape it cannot read fully (an
unresolved collection or field) FAILS the test when it might need an index, so a query
the scanner cannot see is reported rather than silently passed: rewrite it in one of the
forms above, or extend the scanner.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.manifest import ROOT
from tests.infra.terraform_hcl import INFRA, local

SOURCES = sorted([*(ROOT / "shared").rglob("*.py"), *(ROOT / "functions").rglob("*.py")])
EQUALITY = {"==", "in"}
ARRAY = {"array_contains", "array_contains_any"}
UNKNOWN = "?"


@dataclass(frozen=True)
class Shape:
    """A query: its collection, filters (field, op) and orders (field, direction)."""

    collection: str
    filters: tuple[tuple[str, str], ...] = ()
    orders: tuple[tuple[str, str], ...] = ()
    group: bool = False  # a collection-group query (`collection_group(X)`)

    def extended(self, method: str, call: ast.Call, consts: dict[str, str]) -> Shape:
        if method == "where":
            filters = (*self.filters, _filter(call, consts))
            return Shape(self.collection, filters, self.orders, self.group)
        if method == "order_by":
            orders = (*self.orders, _order(call, consts))
            return Shape(self.collection, self.filters, orders, self.group)
        return self

    def fields(self) -> set[str]:
        return {name for name, _ in (*self.filters, *self.orders) if name != "__name__"}

    def needs_composite_index(self) -> bool:
        """Firestore serves equality-only filters and one-field queries from single-field
        indexes; anything else over two or more fields needs a composite index."""
        only_equalities = not self.orders and all(op in EQUALITY for _, op in self.filters)
        return len(self.fields()) >= 2 and not only_equalities

    def readable(self) -> bool:
        names = [self.collection, *(f for f, _ in self.filters), *(f for f, _ in self.orders)]
        return UNKNOWN not in names and all(op != UNKNOWN for _, op in self.filters)

    def __str__(self) -> str:
        filters = ", ".join(f"{name} {op}" for name, op in self.filters)
        orders = ", ".join(f"{name} {direction}" for name, direction in self.orders)
        return f"{self.collection}: where [{filters}] order_by [{orders}]"


def _literal(node: ast.AST | None, consts: dict[str, str]) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name) and node.id in consts:
        return consts[node.id]
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        qualified = f"{node.value.id}.{node.attr}"  # `stats.COLLECTION` of an imported module
        if qualified in consts:
            return consts[qualified]
    if isinstance(node, ast.Attribute) and node.attr in {"DESCENDING", "ASCENDING"}:
        return node.attr
    return UNKNOWN


def _filter(call: ast.Call, consts: dict[str, str]) -> tuple[str, str]:
    keywords = {kw.arg: kw.value for kw in call.keywords}
    target: ast.AST = call
    if "filter" in keywords:
        target = keywords["filter"]
    if isinstance(target, ast.Call):
        args = list(target.args)
        kw = {k.arg: k.value for k in target.keywords}
        name = args[0] if args else kw.get("field_path")
        op = args[1] if len(args) > 1 else kw.get("op_string")
        return _literal(name, consts), _literal(op, consts)
    return UNKNOWN, UNKNOWN


def _order(call: ast.Call, consts: dict[str, str]) -> tuple[str, str]:
    keywords = {kw.arg: kw.value for kw in call.keywords}
    name = call.args[0] if call.args else keywords.get("field_path")
    direction = call.args[1] if len(call.args) > 1 else keywords.get("direction")
    resolved = "ASCENDING" if direction is None else _literal(direction, consts)
    return _literal(name, consts), resolved


def _chain(node: ast.AST) -> tuple[ast.AST, list[tuple[str, ast.Call]]]:
    """`a.b(x).c(y)` -> (a, [("b", call), ("c", call)])."""
    calls: list[tuple[str, ast.Call]] = []
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        calls.append((node.func.attr, node))
        node = node.func.value
    return node, list(reversed(calls))


def _shapes_of(
    node: ast.AST, variables: dict[str, set[Shape]], consts: dict[str, str]
) -> set[Shape]:
    root, calls = _chain(node)
    shapes: set[Shape] = set()
    start = 0
    if isinstance(root, ast.Name) and root.id in variables:
        shapes = set(variables[root.id])
    for index, (method, call) in enumerate(calls):
        if method in ("collection", "collection_group"):
            name = _literal(call.args[0] if call.args else None, consts)
            shapes = {Shape(name, group=method == "collection_group")}
            start = index + 1
    for method, call in calls[start:]:
        shapes = {shape.extended(method, call, consts) for shape in shapes}
    return shapes


class _QueryFinder(ast.NodeVisitor):
    def __init__(self, consts: dict[str, str]) -> None:
        self.consts = consts
        self.found: set[Shape] = set()
        self.variables: dict[str, set[Shape]] = {}

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        outer, self.variables = self.variables, {}
        self.generic_visit(node)
        self.variables = outer

    def visit_Assign(self, node: ast.Assign) -> None:
        # The value first, with the variables as they were before this assignment.
        self.generic_visit(node)
        shapes = _shapes_of(node.value, self.variables, self.consts)
        for target in node.targets:
            if isinstance(target, ast.Name) and shapes:
                # Keep the earlier shapes too: the assignment may sit in a branch.
                self.variables[target.id] = self.variables.get(target.id, set()) | shapes

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.generic_visit(node)
        if node.value is not None and isinstance(node.target, ast.Name):
            shapes = _shapes_of(node.value, self.variables, self.consts)
            if shapes:
                self.variables[node.target.id] = shapes

    def visit_Call(self, node: ast.Call) -> None:
        self.found |= _shapes_of(node, self.variables, self.consts)
        self.generic_visit(node)


def _module_constants(path: Path, seen: frozenset[Path] = frozenset()) -> dict[str, str]:
    """Module-level string constants, including ones imported from other shared modules."""
    tree = ast.parse(path.read_text())
    consts: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            if isinstance(node.value.value, str):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        consts[target.id] = node.value.value
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("shared"):
            module = ROOT / Path(*node.module.split("."))
            source = module.with_suffix(".py")
            if source.is_file() and source not in seen:
                theirs = _module_constants(source, seen | {path})
                for alias in node.names:
                    if alias.name in theirs:
                        consts[alias.asname or alias.name] = theirs[alias.name]
            # `from shared.pkg import module`: its constants as `module.NAME`.
            for alias in node.names:
                submodule = (module / alias.name).with_suffix(".py")
                if submodule.is_file() and submodule not in seen and submodule != path:
                    theirs = _module_constants(submodule, seen | {path})
                    local = alias.asname or alias.name
                    consts.update({f"{local}.{name}": value for name, value in theirs.items()})
    return consts


def query_shapes(path: Path) -> set[Shape]:
    finder = _QueryFinder(_module_constants(path))
    finder.visit(ast.parse(path.read_text()))
    return {shape for shape in finder.found if shape.filters or shape.orders}


def _index_matches(shape: Shape, index: dict[str, Any]) -> bool:
    """Equality and array fields first (any order), then the orders in sequence; the
    inequality field, if not ordered on, right after; a trailing __name__ is optional."""
    if index.get("collection") != shape.collection:
        return False
    scope = "COLLECTION_GROUP" if shape.group else "COLLECTION"
    if index.get("query_scope", "COLLECTION") != scope:
        return False
    fields = [(f["field_path"], f.get("order") or f.get("array_config")) for f in index["fields"]]
    equalities = {name for name, op in shape.filters if op in EQUALITY}
    arrays = {name for name, op in shape.filters if op in ARRAY}
    head = len(equalities) + len(arrays)
    if {name for name, _ in fields[:head]} != equalities | arrays:
        return False
    if any(mode != "CONTAINS" for name, mode in fields[:head] if name in arrays):
        return False
    ordered = list(shape.orders)
    ranges = [name for name, op in shape.filters if op not in EQUALITY | ARRAY]
    for name in ranges:
        if name not in {n for n, _ in ordered}:
            ordered.insert(0, (name, "ASCENDING"))
    tail = fields[head:]
    if tail and tail[-1][0] == "__name__" and ("__name__", tail[-1][1]) not in ordered:
        tail = tail[:-1]
    return tail == ordered


def _indexes() -> list[dict[str, Any]]:
    declared = local(INFRA, "firestore_indexes")
    return [dict(index, key=key) for key, index in declared.items()]


ALL_SHAPES = sorted(
    {
        (path.relative_to(ROOT).as_posix(), shape)
        for path in SOURCES
        for shape in query_shapes(path)
    },
    key=str,
)
NEEDING = [(where, shape) for where, shape in ALL_SHAPES if shape.needs_composite_index()]


def test_scanner_reads_the_known_agents_listing_query() -> None:
    expected = Shape(
        "agents",
        (("userId", "=="),),
        (("createdAt", "DESCENDING"), ("__name__", "DESCENDING")),
    )

    assert ("shared/agents/store.py", expected) in ALL_SHAPES


def test_outbox_flush_needs_no_composite_index() -> None:
    outbox = [shape for where, shape in ALL_SHAPES if where == "shared/messaging/outbox.py"]

    assert outbox, "the scanner should see the outbox flush query"
    assert not any(shape.needs_composite_index() for shape in outbox)


@pytest.mark.parametrize(
    ("where", "shape"), NEEDING, ids=[f"{where}:{shape}" for where, shape in NEEDING]
)
def test_query_has_its_composite_index_in_terraform(where: str, shape: Shape) -> None:
    assert shape.readable(), (
        f"{where}: cannot read the query {shape}; write the collection and fields as literals "
        "or module constants (see this test's docstring)"
    )
    assert any(_index_matches(shape, index) for index in _indexes()), (
        f"{where}: {shape} needs a composite index in infra/firestore.tf local.firestore_indexes"
    )


def test_every_declared_index_serves_a_query_in_the_code() -> None:
    unused = [
        index["key"]
        for index in _indexes()
        if not any(_index_matches(shape, index) for _, shape in NEEDING)
    ]

    assert unused == []


def test_scanner_reads_the_abandoned_answers_sweep_as_a_collection_group_query() -> None:
    expected = Shape("messages", (("status", "=="), ("createdAt", "<")), group=True)

    assert ("shared/chat/sweeps.py", expected) in NEEDING
    index = next(index for index in _indexes() if index["key"] == "messages_pending_since")
    assert _index_matches(expected, index)
    assert not _index_matches(Shape("messages", expected.filters), index)  # scope differs
