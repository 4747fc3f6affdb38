"""YAML as the parser composed it: nodes that know where their text is in the file.

Edits are made on the text, at these positions, never by dumping a document again; the
composed nodes also keep every scalar as its source text (`1.10` is the string "1.10"
here, not the number 1.1), which is what a version is.
"""

from __future__ import annotations

from typing import Final

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from safedeploy.errors import BadInputError

STR_TAG: Final = "tag:yaml.org,2002:str"
MERGE_TAG: Final = "tag:yaml.org,2002:merge"

__all__ = [
    "MERGE_TAG",
    "STR_TAG",
    "MappingNode",
    "Node",
    "ScalarNode",
    "SequenceNode",
    "compose",
    "entry",
    "line",
    "scalar",
]


def compose(text: str, path: str) -> list[Node]:
    """Every document of the file, as nodes; a file that does not parse names its line.

    The C parser is ten times faster, which counts when a file's whole history is read;
    it does not count a byte order mark in its positions, so such a file goes through the
    pure Python one. Positions are checked again where an edit uses them.
    """
    typ = "rt" if text.startswith("\ufeff") else "safe"
    try:
        documents = list(YAML(typ=typ).compose_all(text))
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else path
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise BadInputError(f"{where}: not valid YAML: {problem}") from None
    except RecursionError:
        raise BadInputError(f"{path}: not valid YAML: nested too deeply") from None
    return [document for document in documents if document is not None]


def line(node: Node) -> int:
    """The 1-based line the node starts on, as an editor shows it."""
    return int(node.start_mark.line) + 1


def entry(mapping: MappingNode, key: str, path: str, field: str) -> Node | None:
    """The value of `key`, None when absent; a key written twice is ambiguous, not guessed."""
    found = [v for k, v in mapping.value if isinstance(k, ScalarNode) and k.value == key]
    keys = [k for k, _ in mapping.value if isinstance(k, ScalarNode) and k.value == key]
    if len(found) > 1:
        lines = ", ".join(str(line(k)) for k in keys)
        raise BadInputError(
            f"{path}:{line(keys[1])}: {field}: written {len(found)} times (lines {lines}); "
            "which one counts is ambiguous"
        )
    if found:
        value: Node = found[0]
        return value
    merge = next((k for k, _ in mapping.value if _is_merge(k)), None)
    if merge is not None:
        raise BadInputError(
            f"{path}:{line(merge)}: {field}: may come through a merge key (<<); safedeploy "
            "edits only values written in place"
        )
    return None


def _is_merge(key: Node) -> bool:
    return isinstance(key, ScalarNode) and (key.tag == MERGE_TAG or key.value == "<<")


def scalar(node: Node | None) -> str | None:
    """The source text of a scalar, None for a mapping, a list or nothing."""
    if isinstance(node, ScalarNode):
        text: str = node.value
        return text
    return None
