"""Find, read, override and validate profiles; dump a validated profile back as TOML.

A profile is named (``paper``: the user's ``<profiles_dir>/paper.toml``, else a builtin
shipped in ``condordesk/config/builtin/``) or given as a path (anything with a path separator
or ending in ``.toml``). ``--set KEY=VALUE`` overrides are applied to the parsed TOML before
validation, so they are checked exactly like the file. Every failure is a
:class:`~condordesk.errors.ConfigError` whose message names the file or override, each bad key
in dotted form and what is allowed, one line per problem.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import tomllib
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from functools import singledispatch
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from condordesk.config.paths import profiles_dir
from condordesk.config.profile import Profile
from condordesk.errors import ConfigError

DEFAULT_PROFILE = "sim"
"""The profile loaded when none is named."""

BUILTIN_PREFIX = "builtin:"
"""How the source of a profile shipped inside the package is spelled."""

_SEPARATORS = frozenset(s for s in ("/", os.sep, os.altsep) if s)


@dataclass(frozen=True, slots=True)
class LoadedProfile:
    """A validated profile and where it came from.

    Attributes:
        profile: The validated profile, overrides applied.
        source: The file it was read from, or ``builtin:<name>``.
    """

    profile: Profile
    source: str


@dataclass(frozen=True, slots=True)
class _Override:
    text: str  # as the operator typed it, for messages
    keys: tuple[str, ...]
    value: object


def load_profile(name_or_path: str | None = None, overrides: Sequence[str] = ()) -> LoadedProfile:
    """Load and validate a profile.

    Args:
        name_or_path: A profile name (looked up in :func:`~condordesk.config.paths.profiles_dir`,
            then among the builtin profiles), or a path to a TOML file. None means ``sim``.
        overrides: ``KEY=VALUE`` strings with dotted keys (``broker.port=4002``); VALUE is read
            as a TOML value when it parses as one, else as a plain string.

    Returns:
        The validated profile and its source.

    Raises:
        ConfigError: The profile is missing, unreadable, not valid TOML or not a valid profile,
            or an override is malformed or invalid.
    """
    if isinstance(overrides, str):  # a lone "k=v" would otherwise be split into characters
        overrides = (overrides,)
    parsed = [_parse_override(text) for text in overrides]
    source, stem, data = _locate(DEFAULT_PROFILE if name_or_path is None else name_or_path)
    raw = _parse_toml(data, source)
    name_from_stem = "name" not in raw
    raw.setdefault("name", stem)
    for override in parsed:
        _apply(raw, override)
    try:
        profile = Profile.model_validate(raw)
    except ValidationError as exc:
        lines = _render(exc, source, parsed, name_from_stem=name_from_stem)
        raise ConfigError("\n".join(lines)) from exc
    except TypeError as exc:  # a validator comparing values pydantic let through
        raise ConfigError(f"{source}: invalid profile: {exc}") from exc
    return LoadedProfile(profile, source)


def check_profile(name_or_path: str | None = None, overrides: Sequence[str] = ()) -> LoadedProfile:
    """Validate a profile without using it (``condordesk profile check``).

    Args:
        name_or_path: As for :func:`load_profile`.
        overrides: As for :func:`load_profile`.

    Returns:
        The validated profile and its source.

    Raises:
        ConfigError: As for :func:`load_profile`.
    """
    return load_profile(name_or_path, overrides)


def available_profiles() -> dict[str, str]:
    """The profiles that can be loaded by name.

    Returns:
        Each name mapped to its source (a user file shadows a builtin of the same name), sorted
        by name.
    """
    found = {
        entry.name.removesuffix(".toml"): f"{BUILTIN_PREFIX}{entry.name.removesuffix('.toml')}"
        for entry in _builtin_dir().iterdir()
        if entry.name.endswith(".toml") and entry.is_file()
    }
    user = profiles_dir()
    if user.is_dir():
        found.update((p.stem, str(p)) for p in user.glob("*.toml") if p.is_file())
    return dict(sorted(found.items()))


# --- finding and reading -------------------------------------------------------------------


def _builtin_dir() -> Traversable:
    return resources.files("condordesk.config").joinpath("builtin")


def _locate(target: str) -> tuple[str, str, bytes]:
    """Return (source, file stem, contents) of the profile ``target`` names."""
    if target.endswith(".toml") or any(sep in target for sep in _SEPARATORS):
        path = Path(target).expanduser()
        if not path.exists():
            raise ConfigError(f"{target}: profile file not found")
        return target, path.stem, _read(path, target)
    if not target.strip():
        raise ConfigError("empty profile name")
    user = profiles_dir() / f"{target}.toml"
    if user.exists():
        return str(user), target, _read(user, str(user))
    builtin = _builtin_dir().joinpath(f"{target}.toml")
    if builtin.is_file():
        return f"{BUILTIN_PREFIX}{target}", target, builtin.read_bytes()
    names = ", ".join(
        name + (" (builtin)" if source.startswith(BUILTIN_PREFIX) else "")
        for name, source in available_profiles().items()
    )
    raise ConfigError(
        f"no profile named {target!r}: looked for {user} and {BUILTIN_PREFIX}{target}; "
        f"available: {names or 'none'}"
    )


def _read(path: Path, source: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read the profile: {exc.strerror or exc}") from exc


def _parse_toml(data: bytes, source: str) -> dict[str, Any]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{source}: not UTF-8 text (bad byte at offset {exc.start})") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: {_toml_error_position(exc, text)}") from exc


_TOML_POSITION = re.compile(
    r"^(?P<msg>.*) \(at (?:line (?P<line>\d+), column (?P<col>\d+)|end of document)\)$"
)


def _toml_error_position(exc: tomllib.TOMLDecodeError, text: str) -> str:
    """Render a tomllib error as ``line L, column C: invalid TOML: <what>``."""
    match = _TOML_POSITION.match(str(exc))
    if match is None:
        return f"invalid TOML: {exc}"
    if match["line"] is None:  # tomllib reports some errors at the very end
        return f"line {text.count(chr(10)) + 1} (end of file): invalid TOML: {match['msg']}"
    return f"line {match['line']}, column {match['col']}: invalid TOML: {match['msg']}"


# --- overrides -----------------------------------------------------------------------------


def _parse_override(text: str) -> _Override:
    key, sep, value = text.partition("=")
    if not sep:
        raise ConfigError(f"--set {text}: expected KEY=VALUE, e.g. broker.port=4002")
    keys = tuple(part.strip() for part in key.split("."))
    if not all(keys):
        raise ConfigError(f"--set {text}: empty key (expected dotted keys like broker.port)")
    return _Override(text, keys, _override_value(value.strip()))


def _override_value(text: str) -> object:
    try:
        doc = tomllib.loads(f"v = {text}")
    except tomllib.TOMLDecodeError:
        return text
    return doc["v"] if doc.keys() == {"v"} else text


def _apply(raw: dict[str, Any], override: _Override) -> None:
    node = raw
    model: type[BaseModel] | None = Profile
    for depth, key in enumerate(override.keys[:-1], start=1):
        field = model.model_fields.get(key) if model else None
        model = _as_model(field.annotation) if field else None
        child = node.setdefault(key, {})
        is_table = model is not None or (field is not None and _is_mapping(field.annotation))
        if not isinstance(child, dict) or (field is not None and not is_table):
            where = ".".join(override.keys[:depth])
            raise ConfigError(
                f"--set {override.text}: {where} is a value, not a table; "
                f"cannot set {'.'.join(override.keys)}"
            )
        node = child
    node[override.keys[-1]] = override.value


# --- rendering validation errors -----------------------------------------------------------

Part = str | int


@dataclass(frozen=True, slots=True)
class _Where:
    parts: tuple[Part, ...]  # the key path as the operator knows it
    owner: type[BaseModel] | None  # the table holding the last key
    branch: bool  # the error is about one member of a union


def _as_model(annotation: object) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _is_mapping(annotation: object) -> bool:
    """A free-form table (``secrets.env``): its keys are not fields of a model."""
    return typing.get_origin(annotation) is dict


def _is_union(annotation: object) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _item_type(annotation: object, index: int) -> object:
    args = typing.get_args(annotation)
    if len(args) == 2 and args[1] is Ellipsis:
        return args[0]
    return args[index] if index < len(args) else None


def _where(loc: tuple[Part, ...]) -> _Where:
    """Map pydantic's error location onto the profile's key path, dropping union tags."""
    parts: list[Part] = []
    annotation: object = Profile
    owner: type[BaseModel] | None = None
    branch = False
    for item in loc:
        model = _as_model(annotation)
        if isinstance(item, int):
            parts.append(item)
            annotation, owner = _item_type(annotation, item), None
        elif model is not None:
            parts.append(item)
            field = model.model_fields.get(item)
            annotation, owner = (field.annotation if field else None), model
        elif _is_union(annotation):
            branch, annotation = True, None  # the item names the union member that failed
        else:
            parts.append(item)
            annotation, owner = None, None
    return _Where(tuple(parts), owner, branch)


def _dotted(parts: Sequence[Part]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _show(value: object) -> str:
    """A short rendering of an offending input."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, list | tuple):
        text = "[" + ", ".join(_show(v) for v in value) + "]"
    elif isinstance(value, dict):
        text = "a table"
    elif isinstance(value, date | time):
        text = value.isoformat()
    else:
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_NOUNS = {  # pydantic error type -> what the value must be
    kind: noun
    for noun, kinds in (
        ("an integer", ("int_type", "int_parsing")),
        ("a whole number", ("int_from_float",)),
        ("a number", ("float_type", "float_parsing", "decimal_type", "decimal_parsing")),
        ("a finite number", ("finite_number",)),
        ("true or false", ("bool_type", "bool_parsing")),
        ("a string", ("string_type",)),
        ('a time of day "HH:MM"', ("time_type", "time_parsing")),
        ('a date "YYYY-MM-DD"', ("date_type", "date_parsing", "date_from_datetime_parsing")),
        ('a date "YYYY-MM-DD"', ("date_from_datetime_inexact",)),
        ("a table", ("model_type", "dict_type")),
        ("an array", ("tuple_type", "list_type")),
    )
    for kind in kinds
}

_BOUNDS = {
    "less_than_equal": "<=",
    "less_than": "<",
    "greater_than": ">",
    "greater_than_equal": ">=",
}

_LIMITS = {
    "too_short": "must have at least {min_length} item(s)",
    "too_long": "must have at most {max_length} item(s)",
    "string_too_short": "must have at least {min_length} character(s)",
    "string_too_long": "must have at most {max_length} character(s)",
    "string_pattern_mismatch": "must match the pattern {pattern!r}",
    "decimal_max_places": "must have at most {decimal_places} decimal places",
    "decimal_max_digits": "must have at most {max_digits} digits",
    "decimal_whole_digits": "must have at most {whole_digits} digits before the point",
}


def _noun(error: ErrorDetails) -> str | None:
    """What the value must be, as a noun phrase, if the error type has one."""
    if error["type"] == "literal_error":
        expected = str(error.get("ctx", {}).get("expected", ""))
        head, sep, last = expected.rpartition(" or ")
        return f"one of {head}, {last}" if sep else expected
    return _NOUNS.get(error["type"])


def _unknown_key(key: Part, owner: type[BaseModel] | None) -> str:
    if owner is None:
        return "unknown key"
    allowed = list(owner.model_fields)
    text = f"unknown key (allowed: {', '.join(allowed)})"
    close = difflib.get_close_matches(str(key), allowed, n=1)
    return f"{text}; did you mean {close[0]!r}?" if close else text


def _problem(error: ErrorDetails, where: _Where) -> str:
    """One problem as ``must be ... (got ...)``, without its location."""
    kind, ctx = error["type"], error.get("ctx", {})
    if kind == "extra_forbidden":
        return _unknown_key(where.parts[-1] if where.parts else "", where.owner)
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", error["msg"]))
    if kind == "missing":
        short_array = bool(where.parts) and isinstance(where.parts[-1], int)
        return "missing (the array is too short)" if short_array else "missing"
    noun = _noun(error)
    if noun is not None:
        text = f"must be {noun}"
    elif kind in _BOUNDS:
        text = f"must be {_BOUNDS[kind]} {next(iter(ctx.values()))}"
    elif kind in _LIMITS:
        text = _LIMITS[kind].format(**ctx)
    else:
        text = error["msg"][:1].lower() + error["msg"][1:]
    return f"{text} (got {_show(error['input'])})"


def _merge_branches(errors: list[ErrorDetails], where: _Where) -> str:
    """One line for a value that matched no member of a union (``a number or 'max'``)."""
    nouns = [_noun(e) for e in errors]
    if all(nouns):
        return f"must be {' or '.join(n for n in nouns if n)} (got {_show(errors[0]['input'])})"
    return "; ".join(_problem(e, where) for e in errors)


def _prefix(parts: tuple[Part, ...], source: str, overrides: Sequence[_Override]) -> str:
    """Who to blame: the override that set the bad value, else the file."""
    for override in reversed(overrides):  # the last override of a key wins
        if parts[: len(override.keys)] == override.keys:
            return f"--set {override.text}"
    inside = [o for o in overrides if o.keys[: len(parts)] == parts]
    if inside:
        return f"{source} (with {', '.join(f'--set {o.text}' for o in inside)})"
    return source


def _render(
    exc: ValidationError, source: str, overrides: Sequence[_Override], *, name_from_stem: bool
) -> list[str]:
    """One ``<source>: <key>: <problem>`` line per problem."""
    grouped: list[tuple[_Where, list[ErrorDetails]]] = []
    for error in exc.errors(include_url=False):
        where = _where(tuple(error["loc"]))
        if where.branch and grouped and grouped[-1][0] == where:
            grouped[-1][1].append(error)
        else:
            grouped.append((where, [error]))
    lines = []
    for where, errors in grouped:
        text = _merge_branches(errors, where) if where.branch else _problem(errors[0], where)
        prefix = _prefix(where.parts, source, overrides)
        if prefix.startswith("--set") and errors[0]["type"] == "string_type":
            text += ' (quote it: --set KEY="VALUE")'
        if (
            where.parts == ("name",)
            and name_from_stem
            and all(o.keys[0] != "name" for o in overrides)
        ):
            text += ' (taken from the file name; add name = "..." to the file)'
        key = _dotted(where.parts)
        if key and not text.startswith(key + "."):  # model checks often name their keys
            text = f"{key}: {text}"
        lines.append(f"{prefix}: {text}")
    return lines


# --- dumping -------------------------------------------------------------------------------

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def effective_toml(profile: Profile) -> str:
    """Dump a validated profile as TOML text that loads back into an equal profile.

    Times are written as ``"HH:MM"`` strings (``"HH:MM:SS"`` when they have seconds), dates as
    ``"YYYY-MM-DD"``, Decimals as plain numbers; keys whose value is None are left out.

    Args:
        profile: The profile to dump.

    Returns:
        The TOML document: top-level keys first, then one table per section, in schema order.
    """
    lines: list[str] = []
    _emit_table(lines, (), profile.model_dump())
    return "\n".join(lines) + "\n"


def _emit_table(lines: list[str], path: tuple[str, ...], table: dict[str, Any]) -> None:
    if path:
        if lines:
            lines.append("")
        lines.append("[" + ".".join(_toml_key(p) for p in path) + "]")
    for key, value in table.items():
        if value is not None and not isinstance(value, dict):
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    for key, value in table.items():
        if isinstance(value, dict):
            _emit_table(lines, (*path, key), value)


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _toml_string(key)


def _toml_string(text: str) -> str:
    def escape(c: str) -> str:
        if c in _ESCAPES:
            return _ESCAPES[c]
        return f"\\u{ord(c):04X}" if ord(c) < 0x20 or ord(c) == 0x7F else c

    return '"' + "".join(escape(c) for c in text) + '"'


@singledispatch
def _toml_value(value: object) -> str:
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


@_toml_value.register
def _(value: bool) -> str:
    return "true" if value else "false"


@_toml_value.register
def _(value: int) -> str:
    return str(value)


@_toml_value.register
def _(value: float) -> str:
    if math.isnan(value):
        return "nan"
    return ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)


@_toml_value.register
def _(value: Decimal) -> str:
    if value.is_nan():
        return "nan"
    return ("inf" if value > 0 else "-inf") if value.is_infinite() else format(value, "f")


@_toml_value.register
def _(value: str) -> str:
    return _toml_string(value)


@_toml_value.register
def _(value: datetime) -> str:
    return _toml_string(value.isoformat())


@_toml_value.register
def _(value: date) -> str:
    return _toml_string(value.isoformat())


@_toml_value.register
def _(value: time) -> str:
    plain = not (value.second or value.microsecond or value.tzinfo)
    return _toml_string(value.strftime("%H:%M") if plain else value.isoformat())


@_toml_value.register(list)
@_toml_value.register(tuple)
def _(value: list[object] | tuple[object, ...]) -> str:
    return "[" + ", ".join(_toml_value(v) for v in value) + "]"


@_toml_value.register(dict)
def _(value: dict[str, object]) -> str:
    items = ", ".join(
        f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items() if v is not None
    )
    return "{ " + items + " }" if items else "{}"
