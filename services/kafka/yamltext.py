"""A small YAML writer for JSON-like data (the runtime has no YAML library, and needs none).

Strings that could be read back as anything else are written double-quoted and escaped, so
`yaml.safe_load(to_yaml(x)) == x` for any JSON-like `x`.
"""

from __future__ import annotations

import json
import re
from typing import Any

PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-/]*")
RESERVED = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "none", "~"}
# YAML's printable characters minus line breaks (also U+2028/9, U+FEFF): others are escaped.
SHOWN = re.compile("[\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd"
                   "\U00010000-\U0010ffff]")
ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t"}


def quoted(text: str) -> str:
    """A double-quoted YAML scalar; readable where it can be, escaped where it must be."""
    return '"' + "".join(_escaped(c) for c in text) + '"'


def _escaped(char: str) -> str:
    if char in ESCAPES:
        return ESCAPES[char]
    if SHOWN.fullmatch(char):
        return char
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def scalar(value: Any) -> str:
    """A scalar as YAML text; strings plain only when unambiguous."""
    if isinstance(value, str):
        if PLAIN.fullmatch(value) and value.lower() not in RESERVED:
            return value
        return quoted(value)
    text = json.dumps(value)
    if isinstance(value, float) and "e" in text and "." not in text:
        mantissa, _, exponent = text.partition("e")  # YAML 1.1 needs a dot: 1.0e-05
        return f"{mantissa}.0e{exponent}"
    return text


def _lines(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(value, dict) and value:
        out = []
        for key, item in value.items():
            out.extend(_entry(f"{pad}{scalar(str(key))}:", item, indent))
        return out
    if isinstance(value, list) and value:
        out = []
        for item in value:
            out.extend(_entry(f"{pad}-", item, indent, in_list=True))
        return out
    return [pad + ("{}" if isinstance(value, dict) else "[]" if isinstance(value, list)
                   else scalar(value))]


def _entry(head: str, item: Any, indent: int, in_list: bool = False) -> list[str]:
    nested = isinstance(item, dict | list) and bool(item)
    if not nested:
        return [f"{head} {_lines(item, 0)[0]}"]
    if in_list and isinstance(item, dict):  # "- key: value" with the rest aligned under key
        inner = _lines(item, indent + 2)
        return [f"{head} {inner[0].lstrip()}", *inner[1:]]
    return [head, *_lines(item, indent + 2)]


def to_yaml(value: Any) -> str:
    """YAML text for dicts, lists, strings, numbers, booleans and None."""
    return "\n".join(_lines(value, 0)) + "\n"
