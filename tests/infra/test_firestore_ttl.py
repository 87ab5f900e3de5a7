"""Every collection the code writes with an `expiresAt` has a Firestore TTL policy.

Without the policy the field is only a promise: nothing ever deletes the documents. The
scanner finds writes (`ref.set/create/update(data)`, `transaction|batch.set/create/
update(ref, data)`) in `shared/` and `functions/` whose data carries `expiresAt`, and
resolves the document reference to its collection: a chain through `.collection(X)`, or
a variable assigned from one (also `snapshot.reference` of a snapshot read from one), in
the same function or an enclosing one; collection ids as literals or module constants.
Data "carries" the field when its expression names it, or when it is a variable that a
statement of the function fills with it (`fields.update(expiresAt=...)`).
"""

from __future__ import annotations

import ast
from pathlib import Path

from infra.manifest import ROOT
from tests.infra.terraform_hcl import INFRA, local
from tests.infra.test_firestore_indexes import SOURCES, _module_constants

EXPIRY_FIELD = "expiresAt"
# `create_once(ref, data, apply)` (shared/gcp/firestore.py) creates `ref` with `data`.
WRITES = {"set", "create", "update", "create_once"}


def _collection_of(
    node: ast.AST | None, refs: dict[str, str], consts: dict[str, str], returns: dict[str, str]
) -> str | None:
    """The collection a document-reference expression points into, if readable."""
    while isinstance(node, (ast.Call, ast.Attribute)):
        if isinstance(node, ast.Attribute):
            node = node.value
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "collection" and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                return first.value
            return consts.get(first.id) if isinstance(first, ast.Name) else None
        if isinstance(func, ast.Name):
            return returns.get(func.id)
        node = func
    return refs.get(node.id) if isinstance(node, ast.Name) else None


def _functions(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _returned_collections(tree: ast.Module, consts: dict[str, str]) -> dict[str, str]:
    """Module functions that return a document reference (`quota_ref`) -> its collection."""
    returns: dict[str, str] = {}
    for function in _functions(tree):
        for node in ast.walk(function):
            if isinstance(node, ast.Return) and node.value is not None:
                collection = _collection_of(node.value, {}, consts, {})
                if collection:
                    returns[function.name] = collection
    return returns


def writes_with_expiry(path: Path) -> tuple[set[str], list[str]]:
    """Collections written with an expiry, and the expiring writes the scanner cannot place.

    A reference that comes from outside the function (a parameter) belongs to the module's
    own collection when it has exactly one (its `COLLECTION` constant and `*_ref` helpers).
    """
    tree = ast.parse(path.read_text())
    consts = _module_constants(path)
    returns = _returned_collections(tree, consts)
    own = set(returns.values()) | ({consts["COLLECTION"]} if "COLLECTION" in consts else set())
    found: set[str] = set()
    unreadable: list[str] = []
    for function in _functions(tree):
        refs: dict[str, str] = {}
        filled: dict[str, str] = {}
        nodes = list(ast.walk(function))
        for node in nodes:
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    # `fields["expiresAt"] = ...` fills the dict named `fields`.
                    if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
                        name = target.value.id
                        filled[name] = filled.get(name, "") + ast.unparse(node)
                    names = target.elts if isinstance(target, ast.Tuple) else [target]
                    for name in names:
                        if isinstance(name, ast.Name):
                            collection = _collection_of(node.value, refs, consts, returns)
                            if collection:
                                refs[name.id] = collection
                            filled[name.id] = filled.get(name.id, "") + ast.unparse(node.value)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                name = node.target.id
                filled[name] = filled.get(name, "") + ast.unparse(node)
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.attr in {"update", "setdefault"}
            ):
                name = node.func.value.id
                filled[name] = filled.get(name, "") + ast.unparse(node)
        for node in nodes:
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in WRITES
                and node.args
            ):
                continue
            if len(node.args) >= 2:
                ref, data = node.args[0], node.args[1]
            else:
                ref, data = node.func.value, node.args[0]
            text = ast.unparse(data)
            if isinstance(data, ast.Name):
                text += filled.get(data.id, "")
            if EXPIRY_FIELD not in text:
                continue
            collection = _collection_of(ref, refs, consts, returns)
            if collection is None and len(own) == 1:
                collection = next(iter(own))
            if collection:
                found.add(collection)
            else:
                unreadable.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found, unreadable


def collections_with_expiry() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in SOURCES:
        for collection in writes_with_expiry(path)[0]:
            found.setdefault(collection, []).append(path.relative_to(ROOT).as_posix())
    return found


def test_every_expiring_write_is_readable() -> None:
    unreadable = [where for path in SOURCES for where in writes_with_expiry(path)[1]]

    assert unreadable == [], "write the document reference so the scanner can place it"


def test_scanner_sees_the_known_expiring_writes() -> None:
    found = collections_with_expiry()

    assert {"sessions", "processed_events", "webhook_deliveries", "alerts"} <= set(found)


def test_every_collection_written_with_an_expiry_has_a_ttl_policy() -> None:
    ttl = local(INFRA, "firestore_ttl_fields")
    missing = {
        collection: where
        for collection, where in collections_with_expiry().items()
        if ttl.get(collection) != EXPIRY_FIELD
    }

    assert missing == {}, "add these to local.firestore_ttl_fields in infra/firestore.tf"


def test_no_ttl_policy_waits_on_a_field_nothing_writes() -> None:
    ttl = local(INFRA, "firestore_ttl_fields")

    assert set(ttl) <= set(collections_with_expiry())
    assert "outbox" not in ttl, "a staged event is deleted once published, never by age"


def test_no_collection_is_listed_twice() -> None:
    # Terraform refuses an object with a repeated key; the parser here keeps the last one.
    text = (INFRA / "firestore.tf").read_text()
    block = text[
        text.index("firestore_ttl_fields = {") : text.index(
            "}", text.index("firestore_ttl_fields = {")
        )
    ]
    keys = [line.split("=")[0].strip() for line in block.splitlines()[1:] if "=" in line]
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)
