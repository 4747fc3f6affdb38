"""Whether Prometheus accepts a label-matcher regex: RE2 syntax, as Go's regexp parses it.

Prometheus compiles `=~` and `!~` values with Go's `regexp` (RE2 syntax with Perl classes),
fully anchored. A regex it refuses makes every query of the SLO fail, and the service stays
unknown for as long as the file says so; Python's `re` accepts many of these (lookaround,
backreferences, possessive quantifiers, atomic groups) and refuses some that Go accepts
(`^*`, `\\pL`, `\\Q...\\E`). This is a parser of Go's grammar (regexp/syntax, Go 1.19, Unicode 13,
the Prometheus of the tests) that only answers why a pattern is refused, so `validate`
refuses exactly what Prometheus would, checked against a real one in the tests.

Two choices are stricter than Go alone and match what Prometheus does with its wrapping
`^(?:...)$`: `\\Q` needs its `\\E`, and the `(?<name>...)` spelling of newer Go is refused in
favour of `(?P<name>...)`, which every version takes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_MAX_REPEAT: Final = 1000
_PERL_CLASSES: Final = frozenset("dDsSwW")
_C_ESCAPES: Final = {"a": 7, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11}
_POSIX: Final = _words(
    "alnum alpha ascii blank cntrl digit graph lower print punct space upper word xdigit"
)
_CATEGORIES: Final = _words(
    """C Cc Cf Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps S Sc Sk Sm
    So Z Zl Zp Zs Any"""
)
# Unicode 13.0's scripts, the table of the Go that builds the Prometheus of the tests.
_SCRIPTS: Final = _words(
    """Adlam Ahom Anatolian_Hieroglyphs Arabic Armenian Avestan Balinese Bamum Bassa_Vah Batak
    Bengali Bhaiksuki Bopomofo Brahmi Braille Buginese Buhid Canadian_Aboriginal Carian
    Caucasian_Albanian Chakma Cham Cherokee Chorasmian Common Coptic Cuneiform Cypriot
    Cyrillic Deseret Devanagari Dives_Akuru Dogra Duployan Egyptian_Hieroglyphs Elbasan
    Elymaic Ethiopic Georgian Glagolitic Gothic Grantha Greek Gujarati Gunjala_Gondi
    Gurmukhi Han Hangul Hanifi_Rohingya Hanunoo Hatran Hebrew Hiragana Imperial_Aramaic
    Inherited Inscriptional_Pahlavi Inscriptional_Parthian Javanese Kaithi Kannada Katakana
    Kayah_Li Kharoshthi Khitan_Small_Script Khmer Khojki Khudawadi Lao Latin Lepcha Limbu
    Linear_A Linear_B Lisu Lycian Lydian Mahajani Makasar Malayalam Mandaic Manichaean
    Marchen Masaram_Gondi Medefaidrin Meetei_Mayek Mende_Kikakui Meroitic_Cursive
    Meroitic_Hieroglyphs Miao Modi Mongolian Mro Multani Myanmar Nabataean Nandinagari
    New_Tai_Lue Newa Nko Nushu Nyiakeng_Puachue_Hmong Ogham Ol_Chiki Old_Hungarian
    Old_Italic Old_North_Arabian Old_Permic Old_Persian Old_Sogdian Old_South_Arabian
    Old_Turkic Oriya Osage Osmanya Pahawh_Hmong Palmyrene Pau_Cin_Hau Phags_Pa Phoenician
    Psalter_Pahlavi Rejang Runic Samaritan Saurashtra Sharada Shavian Siddham SignWriting
    Sinhala Sogdian Sora_Sompeng Soyombo Sundanese Syloti_Nagri Syriac Tagalog Tagbanwa
    Tai_Le Tai_Tham Tai_Viet Takri Tamil Tangut Telugu Thaana Thai Tibetan Tifinagh Tirhuta
    Ugaritic Vai Wancho Warang_Citi Yezidi Yi Zanabazar_Square"""
)
_UNSUPPORTED_GROUPS: Final = (
    ("(?=", "lookahead"),
    ("(?!", "negative lookahead"),
    ("(?<=", "lookbehind"),
    ("(?<!", "negative lookbehind"),
    ("(?>", "an atomic group"),
    ("(?#", "a comment group"),
    ("(?(", "a conditional"),
    ("(?P=", "a backreference"),
    ("(?P>", "a subroutine call"),
    ("(?<", "a named group spelled (?<name>...); write (?P<name>...)"),
)


class RegexSyntaxError(ValueError):
    """Why Go's regexp refuses the pattern."""


@dataclass(eq=False)
class _Node:
    """What the repeat-count check needs: a `{n,m}`'s count and what it repeats."""

    count: int | None = None  # the max (or min when open-ended) of a {n,m}; None otherwise
    children: list[_Node] = field(default_factory=list)


@dataclass(eq=False)
class _Group:
    node: _Node = field(default_factory=_Node)
    concat: list[_Node] = field(default_factory=list)  # since the last '|' or '('


def re2_error(pattern: str) -> str | None:
    """Why Prometheus refuses `pattern` as a label-matcher regex; None when it accepts it."""
    try:
        _Parser(pattern).parse()
    except RegexSyntaxError as exc:
        return str(exc)
    return None


class _Parser:
    def __init__(self, pattern: str) -> None:
        self.s = pattern
        self.i = 0
        self.groups = [_Group()]
        self.last_repeat: int | None = None  # where the token before, a repetition, began

    def parse(self) -> None:
        while self.i < len(self.s):
            start = self.i
            self.last_repeat = start if self._token() else None
        if len(self.groups) > 1:
            raise RegexSyntaxError(f"missing closing ): `{self.s}`")

    def _token(self) -> bool:
        """Consume one token; whether it was a repetition operator."""
        c = self.s[self.i]
        if c in "*+?":
            self.i += 1
            self._repeat(None, 0, c)
            return True
        if c == "{":
            bounds = self._repeat_bounds()
            if bounds is not None:
                low, high, end = bounds
                text = self.s[self.i : end]
                if low < 0 or low > _MAX_REPEAT or high > _MAX_REPEAT or 0 <= high < low:
                    raise RegexSyntaxError(f"invalid repeat count: `{text}`")
                self.i = end
                self._repeat(high if high >= 0 else low, max(low, high), text)
                return True
            self._push()  # a '{' that starts no repeat is itself
            self.i += 1
        elif c == "(":
            self._open()
        elif c == ")":
            self._close()
        elif c == "|":
            self.groups[-1].concat = []
            self.i += 1
        elif c == "[":
            self.i = self._class(self.i)
            self._push()
        elif c == "\\":
            self._escape_outside_class()
        else:
            self._push()
            self.i += 1
        return False

    def _push(self, node: _Node | None = None) -> None:
        node = node or _Node()
        self.groups[-1].concat.append(node)
        self.groups[-1].node.children.append(node)

    def _repeat(self, count: int | None, largest: int, text: str) -> None:
        start = self.i - len(text)
        if self.i < len(self.s) and self.s[self.i] == "?":
            self.i += 1  # non-greedy
        if self.last_repeat is not None:
            shown = self.s[self.last_repeat : self.i]
            raise RegexSyntaxError(f"invalid nested repetition operator: `{shown}`")
        group = self.groups[-1]
        if not group.concat:
            raise RegexSyntaxError(
                f"missing argument to repetition operator: `{self.s[start : self.i]}`"
            )
        sub = group.concat.pop()
        group.node.children.remove(sub)
        node = _Node(count, [sub])
        self._push(node)
        if count is not None and largest >= 2 and not _counts_fit(node, _MAX_REPEAT):
            raise RegexSyntaxError(f"invalid repeat count: `{text}`")

    def _repeat_bounds(self) -> tuple[int, int, int] | None:
        """`{n}`, `{n,}`, `{n,m}` at self.i: (n, m or -1, end); None when it is a literal."""
        low, j = _integer(self.s, self.i + 1)
        if low is None or j >= len(self.s):
            return None
        high = low
        if self.s[j] == ",":
            j += 1
            if j >= len(self.s):
                return None
            if self.s[j] == "}":
                high = -1
            else:
                found, j = _integer(self.s, j)
                if found is None:
                    return None
                high = found
                if high < 0:
                    low = -1
        if j >= len(self.s) or self.s[j] != "}":
            return None
        return low, high, j + 1

    def _open(self) -> None:
        rest = self.s[self.i :]
        if not rest.startswith("(?"):
            self.i += 1
            self.groups.append(_Group())
            return
        if rest.startswith("(?P<"):
            end = rest.find(">")
            if end < 0:
                raise RegexSyntaxError(f"invalid named capture: `{rest}`")
            name = rest[4:end]
            if not name or not all(ch == "_" or (ch.isascii() and ch.isalnum()) for ch in name):
                raise RegexSyntaxError(f"invalid named capture: `{rest[: end + 1]}`")
            self.i += end + 1
            self.groups.append(_Group())
            return
        for prefix, what in _UNSUPPORTED_GROUPS:
            if rest.startswith(prefix):
                raise RegexSyntaxError(f"invalid or unsupported Perl syntax: `{prefix}` ({what})")
        self._flags(rest)

    def _flags(self, rest: str) -> None:
        """`(?flags)` or `(?flags:...)`: i, m, s, U, and one '-' before at least one flag."""
        negated = saw_flag = False
        j = 2
        while j < len(rest):
            c = rest[j]
            if c in "imsU":
                saw_flag = True
            elif c == "-" and not negated:
                negated, saw_flag = True, False
            elif c in ":)" and (saw_flag or not negated):
                self.i += j + 1
                if c == ":":
                    self.groups.append(_Group())
                return
            else:
                break
            j += 1
        raise RegexSyntaxError(f"invalid or unsupported Perl syntax: `{rest[: j + 1]}`")

    def _close(self) -> None:
        if len(self.groups) == 1:
            raise RegexSyntaxError(f"unexpected ): `{self.s}`")
        group = self.groups.pop()
        self.i += 1
        self._push(group.node)

    def _escape_outside_class(self) -> None:
        nxt = self.s[self.i + 1 : self.i + 2]
        if nxt in ("A", "b", "B", "z"):
            self.i += 2
            self._push()
            return
        if nxt == "C":
            raise RegexSyntaxError("invalid escape sequence: `\\C` (any byte)")
        if nxt == "Q":
            end = self.s.find("\\E", self.i + 2)
            if end < 0:
                raise RegexSyntaxError("\\Q without its \\E")
            for _ in self.s[self.i + 2 : end]:
                self._push()
            self.i = end + 2
            return
        self.i = self._class_escape(self.i) or self._escape(self.i)[1]
        self._push()

    def _class_escape(self, i: int) -> int | None:
        """`\\d`, `\\pL`, `\\p{Greek}` and the like at i: the index after; None if not one."""
        nxt = self.s[i + 1 : i + 2]
        if nxt and nxt in _PERL_CLASSES:
            return i + 2
        if nxt not in ("p", "P"):
            return None
        if self.s[i + 2 : i + 3] == "{":
            end = self.s.find("}", i)
            if end < 0:
                raise RegexSyntaxError(f"invalid character class range: `{self.s[i:]}`")
            name, after = self.s[i + 3 : end], end + 1
        else:
            name, after = self.s[i + 2 : i + 3], i + 3
        if name.removeprefix("^") not in _CATEGORIES | _SCRIPTS:
            raise RegexSyntaxError(f"invalid character class range: `{self.s[i:after]}`")
        return after

    def _escape(self, i: int) -> tuple[int, int]:
        """A single-character escape at i: (its code point, the index after)."""
        if i + 1 >= len(self.s):
            raise RegexSyntaxError("trailing backslash at end of expression")
        c = self.s[i + 1]
        j = i + 2
        if c.isascii() and not c.isalnum():
            return ord(c), j
        if c in "1234567" and not (j < len(self.s) and self.s[j] in "01234567"):
            raise RegexSyntaxError(f"invalid escape sequence: `\\{c}` (backreferences are not RE2)")
        if c in "01234567":
            value, digits = int(c), 1
            while digits < 3 and j < len(self.s) and self.s[j] in "01234567":
                value, j, digits = value * 8 + int(self.s[j]), j + 1, digits + 1
            return value, j
        if c == "x":
            return self._hex(i)
        if c in _C_ESCAPES:
            return _C_ESCAPES[c], j
        raise RegexSyntaxError(f"invalid escape sequence: `\\{c}`")

    def _hex(self, i: int) -> tuple[int, int]:
        s = self.s
        if s[i + 2 : i + 3] == "{":
            end = s.find("}", i + 3)
            digits = s[i + 3 : end] if end > 0 else ""
            if digits and _is_hex(digits) and int(digits, 16) <= 0x10FFFF:
                return int(digits, 16), end + 1
        elif _is_hex(s[i + 2 : i + 4]) and len(s[i + 2 : i + 4]) == 2:
            return int(s[i + 2 : i + 4], 16), i + 4
        raise RegexSyntaxError(f"invalid escape sequence: `{s[i : i + 12]}`")

    def _class(self, start: int) -> int:
        """A bracketed class at `start`: the index after its ']'."""
        s = self.s
        i = start + 1
        if s[i : i + 1] == "^":
            i += 1
        first = True
        while i >= len(s) or s[i] != "]" or first:
            first = False
            if i >= len(s):
                raise RegexSyntaxError(f"missing closing ]: `{s[start:]}`")
            if s.startswith("[:", i) and s.find(":]", i + 2) >= 0:
                end = s.find(":]", i + 2)
                if s[i + 2 : end].removeprefix("^") not in _POSIX:
                    raise RegexSyntaxError(f"invalid character class range: `{s[i : end + 2]}`")
                i = end + 2
                continue
            if s[i] == "\\":
                after = self._class_escape(i)
                if after is not None:
                    i = after
                    continue
            low, i = self._class_char(i, start)
            if i + 1 < len(s) and s[i] == "-" and s[i + 1] != "]":
                high, end = self._class_char(i + 1, start)
                if high < low:
                    raise RegexSyntaxError(f"invalid character class range: `{s[i - 1 : end]}`")
                i = end
        return i + 1

    def _class_char(self, i: int, start: int) -> tuple[int, int]:
        if i >= len(self.s):
            raise RegexSyntaxError(f"missing closing ]: `{self.s[start:]}`")
        if self.s[i] == "\\":
            return self._escape(i)
        return ord(self.s[i]), i + 1


def _integer(s: str, i: int) -> tuple[int | None, int]:
    """Decimal digits at i, without a leading zero: (value, or -1 when too big; index after)."""
    j = i
    while j < len(s) and s[j] in "0123456789":
        j += 1
    digits = s[i:j]
    if not digits or (len(digits) >= 2 and digits[0] == "0"):
        return None, i
    return (int(digits) if len(digits) <= 8 else -1), j


def _is_hex(text: str) -> bool:
    return bool(text) and all(c in "0123456789abcdefABCDEF" for c in text)


def _counts_fit(node: _Node, budget: int) -> bool:
    """Go's repeatIsValid: nested `{n,m}` counts multiply to at most 1000."""
    if node.count == 0:
        return True  # Go stops here: `x{0}` matches nothing of x, however x nests
    if node.count is not None:
        if node.count > budget:
            return False
        budget //= node.count
    return all(_counts_fit(child, budget) for child in node.children)
