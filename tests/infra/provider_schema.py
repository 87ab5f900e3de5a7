"""The hashicorp/google provider's schema, read from its prebuilt CDK for Terraform bindings.

`terraform validate` needs the provider binary, which cannot be downloaded here. The npm
package @cdktf/provider-google (pinned in package.json, installed by `make node-tools`)
is generated from the provider's schema, one folder per resource or data source:
- `index.js` serialises each settable argument and nested block under its Terraform name
  (`synthesizeHclAttributes` for the resource, `<struct>ToHclTerraform` per block), with
  `isBlock` telling blocks from arguments;
- `index.d.ts` declares the matching TypeScript interfaces (`<Class>Config`, one per
  block), where a property without `?` is required.
The provider version it was generated from appears in every documentation link.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from infra.manifest import ROOT
from tests.infra.hcl_structure import Block, top_blocks

PACKAGE = ROOT / "node_modules" / "@cdktf" / "provider-google"
LIB = PACKAGE / "lib"

_ENTRY = re.compile(r"\n\s+(\w+): \{\s*\n\s+value: ([^\n]+),\s*\n\s+isBlock: (true|false),")
_STRUCT_FUNCTION = re.compile(r"^(\w+)ToHclTerraform\(struct\) \{")
_CHILD = re.compile(r"(?<!cdktf\.)\b(\w+)ToHclTerraform\b")
_FIELD = re.compile(r"(?:struct\.|this\._)(\w+)")
_INTERFACE = re.compile(r"export interface (\w+)(?: extends [\w.]+)? \{(.*?)\n\}", re.DOTALL)
_PROPERTY = re.compile(r"^\s+readonly (\w+)(\?)?:", re.MULTILINE)
_VERSION = re.compile(r"registry\.terraform\.io/providers/hashicorp/google/(\d+\.\d+\.\d+)/")


class SchemaMissing(LookupError):
    pass


@dataclass
class BlockSchema:
    """Arguments and nested blocks of a resource, data source or block: name -> required."""

    arguments: dict[str, bool] = field(default_factory=dict)
    blocks: dict[str, tuple[BlockSchema, bool]] = field(default_factory=dict)


def package_version() -> str:
    text = (PACKAGE / "package.json").read_text()
    match = re.search(r'"version":\s*"([^"]+)"', text)
    if match is None:
        raise SchemaMissing("package.json of @cdktf/provider-google has no version")
    return match.group(1)


@cache
def provider_version() -> str:
    """The hashicorp/google version the bindings were generated from."""
    text = (LIB / "pubsub-topic" / "index.d.ts").read_text()
    versions = set(_VERSION.findall(text))
    if len(versions) != 1:
        raise SchemaMissing(f"cannot tell the provider version from the bindings: {versions}")
    return versions.pop()


def folder_of(type_: str, kind: str) -> Path:
    """lib/<folder> of a resource (`resource`) or data source (`data`) type."""
    name = type_.removeprefix("google_").replace("_", "-")
    return LIB / (f"data-google-{name}" if kind == "data" else name)


def _entries(section: str) -> list[tuple[str, str, bool]]:
    """(terraform name, value expression, is block) of one serialiser's `attrs`."""
    return [(name, value, block == "true") for name, value, block in _ENTRY.findall(section)]


def _required(interfaces: dict[str, str], interface: str) -> dict[str, bool]:
    """camelCase property -> required, from a TypeScript interface."""
    body = interfaces.get(interface)
    if body is None:
        raise SchemaMissing(f"no interface {interface} in the bindings")
    return {name: optional is None or optional == "" for name, optional in _PROPERTY.findall(body)}


@cache
def schema(type_: str, kind: str = "resource") -> BlockSchema:
    folder = folder_of(type_, kind)
    js_path, dts_path = folder / "index.js", folder / "index.d.ts"
    if not js_path.is_file():
        raise SchemaMissing(f"the google provider has no {kind} {type_} ({folder.name})")
    js, dts = js_path.read_text(), dts_path.read_text()
    declared = re.search(r'tfResourceType = "([\w]+)"', js)
    if declared is None or declared.group(1) != type_:
        raise SchemaMissing(f"{folder.name} declares {declared and declared.group(1)}, not {type_}")
    interfaces = dict(_INTERFACE.findall(dts))
    functions = {
        match.group(1): chunk[: chunk.find("\n}\n")]
        for chunk in js.split("\nfunction ")
        if (match := _STRUCT_FUNCTION.match(chunk))
    }
    class_name = re.search(r"export declare class (\w+) extends cdktf\.Terraform", dts)
    assert class_name is not None, folder
    top = js[js.index("synthesizeHclAttributes() {") :]
    top = top[: top.index("return Object.fromEntries")]
    return _build(_entries(top), f"{class_name.group(1)}Config", interfaces, functions)


def _build(
    entries: list[tuple[str, str, bool]],
    interface: str,
    interfaces: dict[str, str],
    functions: dict[str, str],
) -> BlockSchema:
    required = _required(interfaces, interface)
    node = BlockSchema()
    for name, value, is_block in entries:
        field_match = _FIELD.search(value)
        camel = field_match.group(1) if field_match else ""
        is_required = required.get(camel, False)
        if not is_block:
            node.arguments[name] = is_required
            continue
        child = _CHILD.search(value)
        if child is None or child.group(1) not in functions:
            raise SchemaMissing(f"cannot find the serialiser of block {name} ({value})")
        function = child.group(1)
        child_interface = function[0].upper() + function[1:]
        node.blocks[name] = (
            _build(_entries(functions[function]), child_interface, interfaces, functions),
            is_required,
        )
    return node


# --- checking Terraform files against it ----------------------------------------------------

# Resources only hashicorp/google-beta has, so no GA binding can be read: their arguments
# as the provider documents them (registry.terraform.io/providers/hashicorp/google-beta/
# 6.50.0/docs/resources/project_service_identity: `service` required, `project` optional,
# a `timeouts` block). A resource of one of these types must say `provider = google-beta`.
BETA_ONLY = {
    "google_project_service_identity": BlockSchema(
        arguments={"service": True, "project": False},
        blocks={"timeouts": (BlockSchema(arguments={"create": False}), False)},
    ),
}

# Terraform's own meta-arguments and meta-blocks, valid in any resource or data source.
META_ARGUMENTS = {"count", "for_each", "depends_on", "provider"}
META_BLOCKS = {"lifecycle", "provisioner", "connection", "precondition", "postcondition"}


def check_block(block: Block, node: BlockSchema, where: str) -> list[str]:
    """Problems of one resource body or nested block against its schema."""
    problems: list[str] = []
    present: set[str] = set()
    for name, attribute in block.attributes().items():
        present.add(name)
        if name in node.arguments or name in META_ARGUMENTS:
            continue
        if name in node.blocks:
            problems.append(f"{where}:{attribute.line}: {name} is a block, set as an argument")
        else:
            problems.append(f"{where}:{attribute.line}: unknown argument {name!r}")
    for child in block.blocks():
        if child.type in META_BLOCKS:
            continue
        if child.type == "dynamic":
            name = child.labels[0] if child.labels else "?"
            contents = child.blocks("content")
        else:
            name, contents = child.type, [child]
        present.add(name)
        if name in node.blocks:
            for content in contents:
                problems += check_block(content, node.blocks[name][0], f"{where}:{name}")
        elif name in node.arguments:
            problems.append(f"{where}:{child.line}: {name} is an argument, written as a block")
        else:
            problems.append(f"{where}:{child.line}: unknown block {name!r}")
    required = [name for name, needed in node.arguments.items() if needed]
    required += [name for name, (_, needed) in node.blocks.items() if needed]
    for name in sorted(set(required) - present):
        problems.append(f"{where}:{block.line}: missing required {name!r}")
    return problems


def _provider_of(path: Path, type_: str, name: str) -> str | None:
    """The `provider` meta-argument of one resource, as written (None if absent)."""
    from tests.infra.terraform_hcl import one, parse

    for resources in parse(path).get("resource", []):
        body = resources.get(type_, {}).get(name)
        if body is not None and "provider" in body:
            return str(one(body["provider"])).removeprefix("${").removesuffix("}")
    return None


def check_file(path: Path, label: str) -> list[str]:
    """Every google_* resource and data source of a .tf file against the provider schema."""
    problems: list[str] = []
    for block in top_blocks(path):
        if block.type not in {"resource", "data"} or len(block.labels) != 2:
            continue
        type_, name = block.labels
        where = f"{label}: {'data.' if block.type == 'data' else ''}{type_}.{name}"
        if not type_.startswith("google_"):
            problems.append(f"{where}: no schema for a provider other than google")
            continue
        if type_ in BETA_ONLY and block.type == "resource":
            if _provider_of(path, type_, name) != "google-beta":
                problems.append(f"{where}: {type_} exists only in google-beta: set provider")
            problems += check_block(block, BETA_ONLY[type_], where)
            continue
        try:
            node = schema(type_, block.type)
        except SchemaMissing as exc:
            problems.append(f"{where}: {exc}")
            continue
        problems += check_block(block, node, where)
    return problems
