"""An edit changes exactly the characters of the value, whatever the file looks like.

Hypothesis writes random YAML documents in random formatting (indentation, flow and block
collections, `key : value`, comments, blank lines, trailing spaces, headers, document
markers, CRLF, quoting, `{{ templates }}`), the version alone as a tag or inside a whole
`repo:tag` image string, remembering where it wrote the version's characters; the edit
must be the old text with exactly that span replaced by the new version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safedeploy.adapters import manifests, rollout_pause
from safedeploy.adapters.scalar_splice import replace_scalar, shared
from safedeploy.adapters.yaml_nodes import compose
from safedeploy.domain.catalog import Target
from safedeploy.errors import BadInputError

KEYS = st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=6).filter(
    lambda k: (
        k not in {"tag", "digest", "y", "n", "yes", "no", "on", "off", "null", "true", "false"}
    )
)
# Values a values file holds beside the version; all safe in flow collections too.
OTHERS = st.sampled_from(
    [
        "nginx",
        "8080",
        "true",
        "~",
        "''",
        '"a, b: {c}"',
        "'{{ .Release.Name }}-x'",
        '"{{ include \\"x\\" . }}"',
        "3.14",
        "IfNotPresent",
        "{}",
        "[]",
    ]
)


@dataclass
class Writer:
    """The document text so far, and where the version was written."""

    newline: str
    # The characters written around the version itself (quotes, an image's repository).
    around: tuple[str, str] = ("", "")
    parts: list[str] = field(default_factory=list)
    span: tuple[int, int] | None = None

    @property
    def size(self) -> int:
        return sum(len(p) for p in self.parts)

    def write(self, text: str) -> None:
        self.parts.append(text)

    def version(self, text: str) -> None:
        before, after = self.around
        self.span = (self.size + len(before), self.size + len(text) - len(after))
        self.write(text)

    def end_line(self, draw: Any) -> None:
        if draw(st.booleans()):
            self.write(" " * draw(st.integers(1, 3)) + "# " + draw(KEYS))
        self.write(" " * draw(st.integers(0, 2)) + self.newline)


# A tree is ("map", [(key, tree)]), ("seq", [tree]), ("scalar", text) or ("version", flow):
# `flow` says whether the version may be written inside a flow collection.
Tree = tuple[str, Any]


def trees(depth: int, path: list[str], flow: bool) -> st.SearchStrategy[Tree]:
    """A mapping holding `path[0]`, which leads down `path` to the version."""

    @st.composite
    def build(draw: Any) -> Tree:
        here, rest = path[0], path[1:]
        siblings = draw(st.lists(KEYS.filter(lambda k: k != here), max_size=3, unique=True))
        entries: list[tuple[str, Tree]] = [(k, draw(_filler(depth))) for k in siblings]
        child: Tree = ("version", flow) if not rest else draw(trees(depth + 1, rest, flow))
        entries.insert(draw(st.integers(0, len(entries))), (here, child))
        return ("map", entries)

    return build()


def _filler(depth: int) -> st.SearchStrategy[Tree]:
    scalars = OTHERS.map(lambda text: ("scalar", text))
    if depth > 2:
        return scalars
    nested = st.lists(st.tuples(KEYS, scalars), max_size=3, unique_by=lambda e: e[0])
    return st.one_of(
        scalars,
        nested.map(lambda entries: ("map", entries)),
        st.lists(scalars, min_size=1, max_size=3).map(lambda items: ("seq", items)),
    )


def _flowable(tree: Tree) -> bool:
    kind, body = tree
    if kind == "map":
        return all(_flowable(child) for _, child in body)
    if kind == "seq":
        return all(_flowable(child) for child in body)
    return kind != "version" or bool(body)


def write_flow(out: Writer, tree: Tree, version: str, draw: Any) -> None:
    kind, body = tree
    pad = " " * draw(st.integers(0, 1))
    if kind == "map":
        out.write("{" + pad)
        for number, (key, child) in enumerate(body):
            out.write(("," + pad if number else "") + key + ":" + " " * draw(st.integers(1, 2)))
            write_flow(out, child, version, draw)
        out.write(pad + "}")
    elif kind == "seq":
        out.write("[" + pad)
        for number, child in enumerate(body):
            out.write(("," + pad if number else "") + "")
            write_flow(out, child, version, draw)
        out.write(pad + "]")
    elif kind == "version":
        out.version(version)
    else:
        out.write(body)


def write_block_map(out: Writer, tree: Tree, column: int, version: str, draw: Any) -> None:
    for number, (key, child) in enumerate(tree[1]):
        if number and draw(st.integers(0, 4)) == 0:
            out.write(" " * draw(st.integers(0, 2)) + out.newline)  # a blank line
        out.write(" " * column)
        out.write(key + " " * draw(st.integers(0, 1)) + ":")
        write_value(out, child, column, version, draw)


def write_value(out: Writer, tree: Tree, column: int, version: str, draw: Any) -> None:
    kind, body = tree
    if kind in ("scalar", "version") or (_flowable(tree) and draw(st.booleans())):
        out.write(" " * draw(st.integers(1, 3)))
        write_flow(out, tree, version, draw)
        out.end_line(draw)
        return
    out.end_line(draw)
    inner = column + draw(st.integers(1, 4))
    if kind == "map":
        write_block_map(out, tree, inner, version, draw)
        return
    dash = column + draw(st.sampled_from([0, 2]))
    for child in body:
        out.write(" " * dash + "-" + " " * draw(st.integers(1, 2)))
        write_flow(out, child, version, draw)
        out.end_line(draw)


STYLES = {"plain": ("", ""), "single": ("'", "'"), "double": ('"', '"')}
# A values key may hold the tag alone or the whole image with its repository.
REPOSITORIES = st.sampled_from(["", "", "nginx:", "registry.example.com:5000/team/app:"])
# Old and new versions of one shape: YAML reads both alike, so the style carries over.
SHAPES = {
    "text": "v{a}.{b}.{c}",
    "number": "{a}.{b}",
    "integer": "{a}{b}{c}",
    "suffixed": "{a}.{b}-alpine",
}


@st.composite
def values_files(draw: Any) -> tuple[str, str, tuple[int, int], str, str]:
    """(text, values_key, span of the version's characters, old version, new version)."""
    repository = draw(REPOSITORIES)
    leaf = "image" if repository else "tag"
    path = [*draw(st.lists(KEYS, min_size=0, max_size=3, unique=True)), leaf]
    quote = STYLES[draw(st.sampled_from(sorted(STYLES)))]
    # The parser reads `{image: nginx:1.2}` as a mapping gone wrong: plain, block only.
    tree = draw(trees(0, path, flow=not (repository and not quote[0])))
    shape = SHAPES[draw(st.sampled_from(sorted(SHAPES)))]
    numbers = st.fixed_dictionaries({k: st.integers(1, 30) for k in "abc"})
    old, new = draw(
        st.lists(numbers.map(lambda n: shape.format(**n)), min_size=2, max_size=2, unique=True)
    )
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    out = Writer(newline=newline, around=(quote[0] + repository, quote[1]))
    if draw(st.booleans()):
        out.write("# Licensed under the Apache License." + out.newline)
    if draw(st.booleans()):
        out.write("---" + out.newline)
    write_block_map(out, tree, 0, f"{quote[0]}{repository}{old}{quote[1]}", draw)
    if draw(st.booleans()):
        out.write("..." + out.newline)
    text = "".join(out.parts)
    if draw(st.booleans()):
        text = text.rstrip("\r\n")
    assert out.span is not None
    return text, ".".join(path), out.span, old, new


@settings(max_examples=300, deadline=None)
@given(case=values_files())
def test_an_edit_changes_exactly_the_value_span(
    case: tuple[str, str, tuple[int, int], str, str],
) -> None:
    text, key, (start, end), old, new = case
    assert text[start:end] == old
    where = Target(path="values.yaml", kind="helm", values_key=key)
    assert manifests.read_version(text, where) == old
    edited = manifests.set_version(text, where, new)
    assert edited == text[:start] + new + text[end:]
    assert manifests.set_version(edited, where, old) == text


def test_a_value_that_would_read_as_another_type_falls_back_to_double_quotes() -> None:
    text = "image: {repository: x, tag: v2}\n"
    where = Target(path="v.yaml", kind="helm")
    assert manifests.set_version(text, where, "1.10") == 'image: {repository: x, tag: "1.10"}\n'


def test_the_proof_refuses_a_splice_that_would_not_read_back() -> None:
    text = "a: 'x'\nb: y\n"
    documents = compose(text, "f.yaml")
    target = documents[0].value[0][1]
    # Single quotes fold a line break into a space: the value would not read back.
    with pytest.raises(BadInputError, match=r"^f.yaml:1: a: 'x\\nb' cannot be written there"):
        replace_scalar(text, documents, target, "x\nb", path="f.yaml", field="a")


def test_aliases_are_found_without_walking_every_path() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(9)
    )
    documents = compose(bomb, "bomb.yaml")
    leaf = documents[0].value[0][1].value[0]
    assert shared(documents, leaf)
    assert not shared(documents, documents[0].value[0][0])


def test_pause_inserts_one_line_indented_as_spec_and_removes_it_again() -> None:
    rollout = "kind: Rollout\r\nspec:\r\n    # how many\r\n    replicas: 2\r\n    template: {}\r\n"
    where = Target(path="r.yaml", kind="rollout")
    paused = rollout_pause.pause(rollout, where)
    assert paused == rollout.replace("spec:\r\n", "spec:\r\n    paused: true\r\n")
    assert rollout_pause.lift_pause(paused, where) == rollout
