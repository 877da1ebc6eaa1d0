"""The metrics dictionary importer: GitLab's metric definition YAML files into MetricDefinition.

Parsing is pure (text in, field values or a rejection reason out) so every rule is tested
on small inline files; the service walks folders, parses and upserts by ``key_path``.
Real files are messy (see shared/data/README.md): take what is sensible, name the rest.
"""

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, ScalarNode

from scoring.models import MetricDefinition
from usagehub.errors import DomainError
from usagehub.upsert import upsert

# Allowed values from GitLab's schema (config/metrics/schema/base.json); a test compares
# them with the shared copy so a schema update shows up as a failing test, not a silent gap.
VALUE_TYPES = ("string", "number", "boolean", "object")
STATUSES = ("active", "removed", "broken")
TIME_FRAMES = ("7d", "28d", "all", "none")
DATA_SOURCES = (
    "database",
    "redis",
    "redis_hll",
    "prometheus",
    "system",
    "license",
    "internal_events",
)
DATA_CATEGORIES = ("operational", "optional", "subscription", "standard")
TIERS = ("free", "starter", "premium", "ultimate", "bronze", "silver", "gold")

REQUIRED = ("key_path", "description", "value_type", "status", "time_frame", "data_source")
ENUMS: dict[str, tuple[str, ...]] = {
    "value_type": VALUE_TYPES,
    "status": STATUSES,
    "time_frame": TIME_FRAMES,
    "data_source": DATA_SOURCES,
    "data_category": DATA_CATEGORIES,
}
# Statuses GitLab used before the current schema, and what they mean today.
LEGACY_STATUSES = {"data_available": "active", "implemented": "active", "deprecated": "removed"}
# GitLab files each counter by time frame; a file that disagrees with its folder is suspect.
FOLDER_TIME_FRAMES = {"counts_7d": "7d", "counts_28d": "28d", "counts_all": "all"}
OPTIONAL_TEXT = (
    "product_section",
    "product_stage",
    "product_group",
    "introduced_by_url",
    "instrumentation_class",
)
# Unquoted ``13.10`` would load as the float 13.1; these keep the text as written.
VERBATIM_SCALARS = ("milestone", "milestone_removed")
NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
YAML_SUFFIXES = (".yml", ".yaml")
MAX_FILE_BYTES = 1_000_000  # a definition is a few KB; anything near this is not one


@dataclass(frozen=True)
class Rejection:
    """Why a file was not imported, in one line a person can act on."""

    reason: str


@dataclass
class ImportReport:
    """What one import run did, file by file where it went wrong."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejections: list[tuple[Path, str]] = field(default_factory=list)
    # (earlier file, later file) defining the same key_path in one run: the later one wins.
    superseded: list[tuple[Path, Path]] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.rejections)


class _Refused(Exception):
    """A construct the loader will not build; its message is the rejection reason."""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicated keys and aliases, and keeps dates and milestones as text.

    PyYAML silently keeps the last of two equal keys, which hides a broken file. Aliases can
    expand exponentially when the result is serialised, and no definition uses them.
    """

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            line = event.start_mark.line + 1
            raise _Refused(f"YAML alias *{event.anchor} at line {line} is not supported")
        return super().compose_node(parent, index)

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:
                continue  # an unhashable key: SafeLoader rejects it with its own message
            line = key_node.start_mark.line + 1
            if first is not None:
                raise _Refused(f"duplicated key {key!r} at line {line} (first at line {first})")
            seen[key] = line
        mapping = super().construct_mapping(node, deep=deep)
        for key_node, value_node in node.value:
            if (
                isinstance(key_node, ScalarNode)
                and key_node.value in VERBATIM_SCALARS
                and isinstance(value_node, ScalarNode)
                and value_node.tag in NUMBER_TAGS
            ):
                mapping[key_node.value] = value_node.value
        return mapping


# Dates stay text: they are not JSON, and ``definition`` must round-trip through the database.
_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _load(text: str) -> Any:
    """The document's data, or _Refused with a one-line reason."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 — a SafeLoader subclass  # nosec B506
    except yaml.MarkedYAMLError as exc:
        where = f" at line {exc.problem_mark.line + 1}" if exc.problem_mark else ""
        problem = exc.problem or exc.context or "unreadable"
        raise _Refused(f"invalid YAML: {problem}{where}") from exc
    except yaml.YAMLError as exc:
        raise _Refused(f"invalid YAML: {_one_line(str(exc))}") from exc


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _as_json(data: dict[str, Any]) -> dict[str, Any]:
    """The file as JSON data, so what is stored compares equal to what is parsed next time."""
    try:
        return json.loads(json.dumps(data, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise _Refused(f"not representable as JSON: {exc}") from exc


def _text(data: dict[str, Any], name: str, problems: list[str]) -> str:
    """A text field, stripped; null is empty, anything that is not text is a problem."""
    value = data.get(name)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        problems.append(f"{name} must be text, not {type(value).__name__}")
        return ""
    return str(value).strip()


def _blank(value: Any) -> bool:
    """Absent, null or empty text: GitLab's placeholder revisions leave fields like this."""
    return value is None or (isinstance(value, str) and not value.strip())


def _choice(name: str, value: str, problems: list[str]) -> str:
    allowed = ENUMS[name]
    if value and value not in allowed:
        problems.append(f"{name} {value!r} is not one of {', '.join(allowed)}")
    return value


def _tiers(data: dict[str, Any], problems: list[str]) -> list[str]:
    """``tier`` (or its alias ``tiers``) as a de-duplicated list of allowed tiers."""
    given = {name: data[name] for name in ("tier", "tiers") if data.get(name) is not None}
    if not given:
        return []
    lists = {name: _unique_names(name, raw, problems) for name, raw in given.items()}
    if len(set(map(tuple, lists.values()))) > 1:
        problems.append("tier and tiers are both given and differ")
    tiers = next(iter(lists.values()))
    unknown = [tier for tier in tiers if tier not in TIERS]
    if unknown:
        problems.append(f"tier {', '.join(map(repr, unknown))} not one of {', '.join(TIERS)}")
    return tiers


def _unique_names(name: str, raw: Any, problems: list[str]) -> list[str]:
    """A list of names without repeats, in first-seen order."""
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        problems.append(f"{name} must be a list of tier names")
        return []
    return list(dict.fromkeys(item.strip() for item in raw))


def _status(data: dict[str, Any], problems: list[str]) -> str:
    status = _text(data, "status", problems)
    return _choice("status", LEGACY_STATUSES.get(status, status), problems)


def _folder_problem(path: Path, time_frame: str) -> str | None:
    expected = FOLDER_TIME_FRAMES.get(path.parent.name)
    if expected and time_frame and time_frame != expected:
        return f"time_frame {time_frame!r} contradicts its folder {path.parent.name}"
    return None


def _fields(data: dict[str, Any], path: Path, problems: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {
        "key_path": _text(data, "key_path", problems),
        "description": _text(data, "description", problems),
        "value_type": _choice("value_type", _text(data, "value_type", problems), problems),
        "status": _status(data, problems),
        "time_frame": _choice("time_frame", _text(data, "time_frame", problems), problems),
        "data_source": _choice("data_source", _text(data, "data_source", problems), problems),
        "data_category": _choice(
            "data_category", _text(data, "data_category", problems).lower(), problems
        ),
        "tiers": _tiers(data, problems),
        "milestone": _text(data, "milestone", problems),
        **{name: _text(data, name, problems) for name in OPTIONAL_TEXT},
    }
    missing = [name for name in REQUIRED if _blank(data.get(name))]
    if missing:
        problems.insert(0, f"missing required {', '.join(missing)}")
    folder_problem = _folder_problem(path, values["time_frame"])
    if folder_problem:
        problems.append(folder_problem)
    return values


def metric_definition_parse(text: str, *, path: Path) -> dict[str, Any] | Rejection:
    """MetricDefinition field values for one file's text, or why it cannot be imported.

    ``path`` names the file in messages and says which folder it sits in.
    """
    try:
        data = _load(text)
        if data is None:
            return Rejection("the file is empty")
        if not isinstance(data, dict):
            return Rejection(f"top level is {type(data).__name__}, not a mapping")
        definition = _as_json(data)
    except _Refused as exc:
        return Rejection(str(exc))
    problems: list[str] = []
    values = _fields(data, path, problems)
    if problems:
        return Rejection("; ".join(problems))
    return {**values, "definition": definition, "source_file": str(path)}


def _walk(paths: Iterable[Path]) -> Iterator[Path]:
    """Each named file, and every YAML file under each named folder, in a stable order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p for p in path.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file()
            )
        else:
            yield path


def _read(path: Path) -> str:
    """The file's text; any reason it cannot be read becomes a one-line rejection."""
    if not path.exists():
        raise _Refused("no such file or folder")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _Refused(f"cannot read: {exc.strerror or exc}") from exc
    if len(raw) > MAX_FILE_BYTES:
        raise _Refused(f"file is {len(raw)} bytes, more than {MAX_FILE_BYTES}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Refused(f"not UTF-8 (byte {exc.start})") from exc


def _parse_all(paths: Iterable[Path], report: ImportReport) -> dict[str, tuple[Path, dict]]:
    """Accepted files by key_path, the later file winning; rejections go in the report."""
    accepted: dict[str, tuple[Path, dict]] = {}
    for path in _walk(paths):
        try:
            parsed = metric_definition_parse(_read(path), path=path)
        except _Refused as exc:
            parsed = Rejection(str(exc))
        if isinstance(parsed, Rejection):
            report.rejections.append((path, parsed.reason))
            continue
        key_path = parsed["key_path"]
        if key_path in accepted:
            report.superseded.append((accepted.pop(key_path)[0], path))
        accepted[key_path] = (path, parsed)
    return accepted


def metric_definitions_import(*, paths: Iterable[Path]) -> ImportReport:
    """Upsert every acceptable definition under ``paths``; one bad file never stops the rest.

    Files are parsed before anything is written so each key_path is written once per run:
    a second run over the same files then changes nothing. ``is_tracked`` is never touched.
    """
    report = ImportReport()
    accepted = _parse_all(paths, report)
    existing = set(
        MetricDefinition.objects.filter(key_path__in=accepted).values_list("key_path", flat=True)
    )
    for key_path, (path, parsed) in accepted.items():
        values = {name: value for name, value in parsed.items() if name != "key_path"}
        try:
            _, changed = upsert(MetricDefinition, lookup={"key_path": key_path}, values=values)
        except DomainError as exc:
            report.rejections.append((path, f"{exc.field or 'file'}: {exc.message}"))
            continue
        if not changed:
            report.unchanged += 1
        elif key_path in existing:
            report.updated += 1
        else:
            report.created += 1
    return report
