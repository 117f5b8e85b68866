"""Parser packs: YAML files of named sub-patterns and ordered rules, loaded into frozen dataclasses.

A pack file looks like::

    name: mail_logs
    log_type: mail_logs
    dataset: cisco_esa.mail_logs
    sourcetype: cisco:esa:json   # optional Splunk sourcetype of its events (default cisco:esa:json)
    patterns:            # optional named sub-patterns, usable as %{NAME}
      SBRS: '[-\\d.]+|None'
    rules:
      - id: connection-closed
        match: 'ICID %{ICID:cisco.esa.icid:int} close'
        set: {event.action: connection-closed, event.outcome: success}
        post: []          # optional rule-level post-processors by name
        kv: {...}         # optional key=value table (CEF), see esalog.parsers.kv
        examples:
          - line: 'Thu Aug 14 11:05:36 2014 Info: ICID 10293 close'
            fields: {cisco.esa.icid: 10293}

Loading uses ``yaml.safe_load`` semantics and rejects duplicate keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from esalog import yamlcache
from esalog.errors import PackError, SourceLocation
from esalog.names import LINE_SOURCETYPE, MAIL_LOGS, MODULE
from esalog.parsers.kv import KvSpec

if TYPE_CHECKING:
    import yaml

#: Splunk sourcetype of a pack's events when the pack names none.
DEFAULT_SOURCETYPE = LINE_SOURCETYPE
#: The most YAML nodes a pack's aliases may add to those written out (the built-in packs have under 6,000
#: nodes in all): a "billion laughs" document is refused before anything is built from it, a large pack
#: written out is not.
MAX_YAML_NODES = 200_000


def written_nodes(root: yaml.Node) -> int:
    """How many distinct nodes the document *root* has (an alias counts once: as written)."""
    import yaml

    seen: set[int] = set()
    todo = [root]
    while todo:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            todo.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            todo.extend(part for pair in node.value for part in pair)
    return len(seen)


def expanded_nodes(root: yaml.Node, limit: int = MAX_YAML_NODES) -> int:
    """How many nodes *root* stands for with every alias expanded; stops counting past *limit* (and
    counts a recursive alias as over it)."""
    import yaml

    sizes: dict[int, int] = {}
    on_path: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        known = sizes.get(key)
        if known is not None:
            return known
        if key in on_path:  # an alias inside itself: endless
            return limit + 1
        total = 1
        if isinstance(node, yaml.SequenceNode | yaml.MappingNode):
            on_path.add(key)
            children = (node.value if isinstance(node, yaml.SequenceNode)
                        else [part for pair in node.value for part in pair])
            for child in children:
                total += size(child)
                if total > limit:
                    break
            on_path.discard(key)
        sizes[key] = total
        return total

    return size(root)



@cache
def _loader() -> type[yaml.SafeLoader]:
    """A safe loader (libyaml's where there: 5x faster) that refuses a mapping with the same key twice.

    Made on first use: a run whose packs are all read lazily may never import ``yaml``.
    """
    import yaml

    base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class UniqueKeyLoader(base):  # type: ignore[valid-type,misc]
        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r}", key_node.start_mark
                    )
                seen.add(key)
            mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
            return mapping

    return UniqueKeyLoader


@dataclass(frozen=True)
class Example:
    """A real line and the fields (dotted names) it must yield under its rule."""

    line: str
    fields: Mapping[str, Any]


@dataclass(frozen=True)
class Rule:
    """One ordered rule of a pack."""

    id: str
    match: str
    set: Mapping[str, Any] = field(default_factory=dict)
    post: tuple[str, ...] = ()
    examples: tuple[Example, ...] = ()
    description: str = ""
    line: int | None = None
    kv: KvSpec | None = None

    _KEYS = frozenset({"id", "match", "set", "post", "examples", "description", "kv"})

    @classmethod
    def from_dict(cls, data: Any, path: str, index: int) -> Rule:
        """Rule number *index* of the pack at *path*, checked; PackError names the rule and what is wrong."""
        if not isinstance(data, dict):
            raise PackError(f"rule #{index + 1} is not a mapping", SourceLocation(path))
        rule_id = data.get("id")
        named = isinstance(rule_id, str) and rule_id
        loc = SourceLocation(path, rule=rule_id if named else f"#{index + 1}", line=data.get("__line__"))
        data = {k: v for k, v in data.items() if k != "__line__"}
        unknown = set(data) - cls._KEYS
        if unknown:
            raise PackError(f"unknown rule keys: {', '.join(sorted(unknown))}", loc)
        if rule_id is not None and rule_id != "" and not named:
            raise PackError(f"'id' must be a string, got {type(rule_id).__name__} {rule_id!r}", loc)
        if not named or not isinstance(rule_id, str):
            raise PackError("rule has no 'id'", loc)
        match = data.get("match")
        if match is not None and match != "" and not isinstance(match, str):
            raise PackError(f"'match' must be a pattern string, got {type(match).__name__}", loc)
        if not match:
            raise PackError("rule has no 'match' pattern", loc)
        sets = data.get("set") or {}
        if not isinstance(sets, dict) or not all(isinstance(k, str) for k in sets):
            raise PackError("'set' must map dotted field names to values", loc)
        post = data.get("post") or []
        if not isinstance(post, list) or not all(isinstance(p, str) for p in post):
            raise PackError("'post' must be a list of post-processor names", loc)
        examples = []
        listed = data.get("examples") or []
        if not isinstance(listed, list):
            raise PackError(f"'examples' must be a list of {{line, fields}} mappings, got {type(listed).__name__}",
                            loc)
        for ex in listed:
            if not isinstance(ex, dict) or not isinstance(ex.get("line"), str):
                raise PackError("each example needs a 'line' string", loc)
            fields = ex.get("fields") or {}
            if not isinstance(fields, dict):
                raise PackError("example 'fields' must be a mapping", loc)
            extra = set(ex) - {"line", "fields", "__line__"}
            if extra:
                raise PackError(f"unknown example keys: {', '.join(sorted(extra))}", loc)
            examples.append(Example(ex["line"], fields))
        kv = KvSpec.from_dict(data["kv"], loc) if "kv" in data else None
        return cls(
            id=rule_id,
            match=match,
            set=dict(sets),
            post=tuple(post),
            examples=tuple(examples),
            description=str(data.get("description") or ""),
            line=loc.line,
            kv=kv,
        )


@dataclass(frozen=True)
class Pack:
    """A parsed (not yet compiled) parser pack."""

    name: str
    log_type: str
    dataset: str
    patterns: Mapping[str, str]
    rules: tuple[Rule, ...]
    path: str
    description: str = ""
    sourcetype: str = DEFAULT_SOURCETYPE

    _KEYS = frozenset({"name", "log_type", "dataset", "sourcetype", "patterns", "rules", "description"})

    @classmethod
    def from_yaml(cls, path: str | Path) -> Pack:
        """Read and validate a pack file; raise :class:`PackError` naming the file and the rule."""
        path = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise PackError(f"cannot read pack: {exc.strerror}", SourceLocation(path)) from None
        except UnicodeDecodeError as exc:
            before = exc.object[: exc.start]
            line, column = before.count(b"\n") + 1, exc.start - before.rfind(b"\n")
            raise PackError(f"not UTF-8 text: byte 0x{exc.object[exc.start]:02x} at line {line}, column {column}; "
                            "save the pack as UTF-8", SourceLocation(path)) from None
        return cls.from_dict(yamlcache.load(text, path, partial(_pack_data, path=path)), path)

    @classmethod
    def from_text(cls, text: str, path: str = "<pack>") -> Pack:
        """Validate a pack given as YAML text (*path* names it in errors)."""
        return cls.from_dict(_pack_data(text, path), path)

    @classmethod
    def from_dict(cls, data: dict[str, Any], path: str = "<pack>") -> Pack:
        """A pack from its parsed YAML, checked (keys, rules, patterns); PackError names file, rule and line."""
        loc = SourceLocation(path)
        unknown = set(data) - cls._KEYS
        if unknown:
            raise PackError(f"unknown pack keys: {', '.join(sorted(unknown))}", loc)
        name = data.get("name")
        if not isinstance(name, str) or not name:
            raise PackError("pack has no 'name'", loc)
        log_type = str(data.get("log_type") or MAIL_LOGS)
        dataset = str(data.get("dataset") or f"{MODULE}.{log_type}")
        sourcetype = data.get("sourcetype", DEFAULT_SOURCETYPE)
        if not isinstance(sourcetype, str) or not sourcetype.strip() or any(c.isspace() for c in sourcetype):
            raise PackError("'sourcetype' must be a Splunk sourcetype name without spaces", loc)
        patterns = data.get("patterns") or {}
        if not isinstance(patterns, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in patterns.items()
        ):
            raise PackError("'patterns' must map names to regex strings", loc)
        if "rules" not in data or data["rules"] is None:
            raise PackError("pack has no 'rules' list", loc)
        raw_rules = data["rules"]
        if not isinstance(raw_rules, list):
            raise PackError(f"'rules' must be a list of rules, got {type(raw_rules).__name__}", loc)
        if not raw_rules:
            raise PackError("'rules' is an empty list: a pack needs at least one rule", loc)
        rules = tuple(Rule.from_dict(r, path, i) for i, r in enumerate(raw_rules))
        seen: set[str] = set()
        for rule in rules:
            if rule.id in seen:
                raise PackError("duplicate rule id", SourceLocation(path, rule=rule.id, line=rule.line))
            seen.add(rule.id)
        return cls(
            name=name,
            log_type=log_type,
            dataset=dataset,
            patterns=dict(patterns),
            rules=rules,
            path=path,
            description=str(data.get("description") or ""),
            sourcetype=sourcetype,
        )



def _pack_data(text: str, path: str) -> dict[str, Any]:
    """What a pack's YAML says (a mapping; each rule with its ``__line__``); PackError when it is no pack."""
    import yaml

    loader = _loader()(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            limit = written_nodes(node) + MAX_YAML_NODES
            if expanded_nodes(node, limit) > limit:
                raise PackError(f"the YAML expands to more than {MAX_YAML_NODES:,} nodes through its aliases "
                                "(&anchor / *alias); write the values out", SourceLocation(path))
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise PackError(f"invalid YAML: {problem}", SourceLocation(path, line=line)) from None
    finally:
        loader.dispose()
    if data is None:
        raise PackError("the pack is empty: a pack is a mapping with 'name' and 'rules'", SourceLocation(path))
    if not isinstance(data, dict):
        raise PackError("a pack must be a mapping with 'name' and 'rules'", SourceLocation(path))
    assert node is not None  # data came from it
    _attach_rule_lines(node, data)
    return data


def _attach_rule_lines(node: yaml.Node, data: dict[str, Any]) -> None:
    """Record each rule's line number (1-based) so errors can point at it."""
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return
    for key_node, value_node in node.value:
        if getattr(key_node, "value", None) == "rules" and isinstance(value_node, yaml.SequenceNode):
            for item_node, item in zip(value_node.value, data.get("rules") or [], strict=False):
                if isinstance(item, dict):
                    item["__line__"] = item_node.start_mark.line + 1
