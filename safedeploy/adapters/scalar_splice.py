"""Change one value of a YAML file by replacing only the characters of that value.

Everything outside the value's span (comments, blank lines, indentation, quoting of other
values, `{{ templates }}`, headers, the missing newline at the end) is kept byte for
byte by construction. Each edit is then proven: the edited text is parsed again, and its
documents must equal the old ones node for node except at the one place that moved.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Final

from ruamel.yaml.resolver import VersionedResolver

from safedeploy.adapters.yaml_nodes import (
    STR_TAG,
    MappingNode,
    Node,
    ScalarNode,
    SequenceNode,
    compose,
    line,
)
from safedeploy.errors import BadInputError

# An anchor (&name) or tag (!!str) written before a value: kept, the value follows it.
_PROPERTIES: Final = re.compile(r"(?:[&!]\S*[ \t]+)*")
_QUOTES: Final = ("'", '"')
# Kubernetes tools read YAML 1.1, where `yes` and `on` are booleans; the parser reads 1.2.
_YAML_1_1: Final = VersionedResolver(version=(1, 1))

# Claims one pair of nodes as the expected change: False when it is not what was wanted,
# else the child pairs still to compare (None: not the place of the change).
Claim = Callable[[Node, Node], list[tuple[Node, Node]] | bool | None]


def value_span(text: str, node: ScalarNode, where: str) -> tuple[int, int]:
    """Start and end of the value's own characters: quotes included, anchor or tag not."""
    start, end = int(node.start_mark.index), int(node.end_mark.index)
    if not at_mark(text, node):
        raise BadInputError(f"{where}: the parser's position of the value is not in the file")
    matched = _PROPERTIES.match(text, start, end)
    if matched and "&" in matched.group():
        raise BadInputError(
            f"{where}: the value is an anchor (&) other keys may share; edit it by hand"
        )
    start = matched.end() if matched else start
    source = text[start:end]
    if node.style in ("|", ">"):
        raise BadInputError(f"{where}: a block scalar ({node.style}); write the value on one line")
    if "\n" in source or "\r" in source:
        raise BadInputError(f"{where}: the value spans several lines; write it on one line")
    # A plain scalar's style is None from one parser and "" from the other.
    quoted = node.style in _QUOTES and source[:1] == source[-1:] == node.style
    if not quoted and not (not node.style and source == node.value):
        raise BadInputError(f"{where}: cannot find the value's own text in the file")
    return start, end


def renderings(node: ScalarNode, value: str) -> list[str]:
    """The value written as the old one was; unquoted first, quoted if that reads wrong."""
    double = json.dumps(value, ensure_ascii=False)  # JSON strings are YAML double quotes
    if node.style == "'":
        return ["'" + value.replace("'", "''") + "'"]
    if node.style == '"':
        return [double]
    return [value, double]


def replace_scalar(
    text: str, documents: list[Node], target: ScalarNode, value: str, *, path: str, field: str
) -> str:
    """`text` (composed as `documents`) with only `target`'s value replaced by `value`."""
    where = f"{path}:{line(target)}: {field}"
    if shared(documents, target):
        raise BadInputError(f"{where}: the value is reached through an alias (*); edit it by hand")
    start, end = value_span(text, target, where)
    for written in renderings(target, value):
        edited = text[:start] + written + text[end:]
        if proven(documents, edited, path, _replaced(target, value)):
            return edited
    raise BadInputError(f"{where}: {value!r} cannot be written there without changing its type")


def _replaced(target: ScalarNode, value: str) -> Claim:
    def claim(old: Node, new: Node) -> list[tuple[Node, Node]] | bool | None:
        if old is not target:
            return None
        if not isinstance(new, ScalarNode) or new.value != value:
            return False
        # Unquoted, the new text must read as text, or as what the old one read as
        # (1.11 -> 1.10 stays a plain number, as the file wrote it; v2 -> 1.10 is quoted).
        if new.tag not in (STR_TAG, old.tag):
            return False
        if not new.style and _read_1_1(value) not in (STR_TAG, _read_1_1(old.value)):
            return False
        return []

    return claim


def _read_1_1(plain: str) -> str:
    return str(_YAML_1_1.resolve(ScalarNode, plain, (True, False)))


def at_mark(text: str, node: Node) -> bool:
    """Whether the node's character index agrees with its line and column."""
    index, line, column = (int(node.start_mark.index), node.start_mark.line, node.start_mark.column)
    line_start = text.rfind("\n", 0, index) + 1
    return bool(text.count("\n", 0, index) == line and index - line_start == column)


def proven(documents: list[Node], edited: str, path: str, claim: Claim) -> bool:
    """Whether `edited` parses to `documents` changed only where `claim` says."""
    try:
        again = compose(edited, path)
    except BadInputError:
        return False
    if len(again) != len(documents):
        return False
    return _same_but_one(list(zip(documents, again, strict=True)), claim)


def _same_but_one(pairs: list[tuple[Node, Node]], claim: Claim) -> bool:
    """Walk both trees side by side; exactly one place may differ, the claimed one."""
    claimed = 0
    seen: set[tuple[int, int]] = set()
    while pairs:
        old, new = pairs.pop()
        if (id(old), id(new)) in seen:  # an alias: the same pair of nodes again
            continue
        seen.add((id(old), id(new)))
        verdict = claim(old, new)
        if verdict is False:
            return False
        if isinstance(verdict, list):
            claimed += 1
            pairs += verdict
            continue
        children = _children_if_equal(old, new)
        if children is None:
            return False
        pairs += children
    return claimed == 1


def _children_if_equal(old: Node, new: Node) -> list[tuple[Node, Node]] | None:
    """The child pairs to compare next, or None when the two nodes differ themselves."""
    if type(old) is not type(new) or old.tag != new.tag:
        return None
    if isinstance(old, ScalarNode) and isinstance(new, ScalarNode):
        return [] if (old.value, old.style) == (new.value, new.style) else None
    if not isinstance(old, MappingNode | SequenceNode) or not isinstance(
        new, MappingNode | SequenceNode
    ):
        return None
    if old.flow_style != new.flow_style or len(old.value) != len(new.value):
        return None
    if isinstance(old, MappingNode):
        return entry_pairs(old.value, new.value)
    if isinstance(old, SequenceNode):
        return list(zip(old.value, new.value, strict=True))
    return None


def entry_pairs(
    old: list[tuple[Node, Node]], new: list[tuple[Node, Node]]
) -> list[tuple[Node, Node]]:
    """Key with key and value with value, for two mappings' entries of the same length."""
    pairs: list[tuple[Node, Node]] = []
    for (old_key, old_value), (new_key, new_value) in zip(old, new, strict=True):
        pairs += [(old_key, new_key), (old_value, new_value)]
    return pairs


def shared(documents: list[Node], target: Node) -> bool:
    """Whether `target` is reached by more than one path (through an alias)."""
    referrers: dict[int, int] = {}
    nodes: dict[int, Node] = {}
    stack = list(documents)
    while stack:
        node = stack.pop()
        if id(node) in nodes:
            continue
        nodes[id(node)] = node
        for child in _child_nodes(node):
            referrers[id(child)] = referrers.get(id(child), 0) + 1
            stack.append(child)
    many = [nodes[i] for i, count in referrers.items() if count > 1]
    return any(_reaches(start, target) for start in many)


def _reaches(start: Node, target: Node) -> bool:
    seen: set[int] = set()
    stack = [start]
    while stack:
        node = stack.pop()
        if node is target:
            return True
        if id(node) not in seen:
            seen.add(id(node))
            stack += _child_nodes(node)
    return False


def _child_nodes(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []
