"""Envoy's default tag extraction: pull dynamic segments (cluster name, stat prefix, response code...) out of a
dotted stat name so that Prometheus sees one metric with labels instead of one metric per cluster.

Each rule is a regex whose first group is the text to cut from the name and whose second group (if any) is the
tag value. Every rule runs against the original name; the cut ranges are removed at the end, so rules never
interfere with each other (``cluster.cart.upstream_rq_200`` -> ``cluster.upstream_rq`` with
``envoy.response_code=200`` and ``envoy.cluster_name=cart``). The rules are Envoy's, in Envoy's order, limited to
the stats this gateway can emit. Results are cached per name: the set of names is small and fixed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

Tags = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class _Rule:
    tag: str
    regex: re.Pattern[str]
    substring: str  # cheap pre-check: the rule can only match names containing it


def _rule(tag: str, pattern: str, substring: str = "") -> _Rule:
    return _Rule(tag, re.compile(pattern), substring)


DEFAULT_RULES: tuple[_Rule, ...] = (
    # *_rq(_<response_code>)
    _rule("envoy.response_code", r"_rq(_(\d{3}))$", "_rq_"),
    # *_rq_(<response_code_class>)xx
    _rule("envoy.response_code_class", r"_rq_(\d)xx$", "_rq_"),
    # http.[<stat_prefix>.]user_agent.(<user_agent>.)<base_stat>
    _rule("envoy.http_user_agent", r"^http(?=\.).*?\.user_agent\.((.*?)\.)\w+?$", ".user_agent."),
    # vhost.[<virtual host name>.]vcluster.(<virtual_cluster_name>.)<base_stat>
    _rule("envoy.virtual_cluster", r"^vhost(?=\.).*?\.vcluster\.((.*?)\.)\w+?$", ".vcluster."),
    # http.[<stat_prefix>.]fault.(<downstream_cluster>.)<base_stat>
    _rule("envoy.fault_downstream_cluster", r"^http(?=\.).*?\.fault\.((.*?)\.)\w+?$", ".fault."),
    # listener.[<address>.]ssl.cipher.(<cipher>)
    _rule("envoy.ssl_cipher", r"^listener(?=\.).*?\.ssl\.cipher(\.(.*?))$"),
    # cluster.[<cluster_name>.]ssl.ciphers.(<cipher>)
    _rule("envoy.ssl_cipher_suite", r"^cluster(?=\.).*?\.ssl\.ciphers(\.(.*?))$", ".ssl.ciphers."),
    # tcp.(<stat_prefix>.)<base_stat>
    _rule("envoy.tcp_prefix", r"^tcp\.((.*?)\.)\w+?$"),
    # udp.(<stat_prefix>.)<base_stat>
    _rule("envoy.udp_prefix", r"^udp\.((.*?)\.)\w+?$"),
    # ratelimit.(<stat_prefix>.)<base_stat>
    _rule("envoy.ratelimit_prefix", r"^ratelimit\.((.*?)\.)\w+?$"),
    # cluster.(<cluster_name>.)*
    _rule("envoy.cluster_name", r"^cluster\.(([^\.]+)\.).*"),
    # listener.[<address>.]http.(<stat_prefix>.)*
    _rule("envoy.http_conn_manager_prefix", r"^listener(?=\.).*?\.http\.((.*?)\.)", ".http."),
    # http.(<stat_prefix>.)*
    _rule("envoy.http_conn_manager_prefix", r"^http\.((.*?)\.)"),
    # listener.(<address>.)*  (an IPv4 address with port, or an IPv6 one in brackets; ':' is written '_')
    _rule("envoy.listener_address", r"^listener\.(((?:[_.\d]*|[_\[\]aAbBcCdDeEfF\d]*))\.)"),
    # vhost.(<virtual host name>.)*
    _rule("envoy.virtual_host", r"^vhost\.((.*?)\.)"),
    # http.[<stat_prefix>.]rds.(<route_config_name>.)<base_stat>
    _rule("envoy.rds_route_config", r"^http(?=\.).*?\.rds\.((.*?)\.)\w+?$", ".rds."),
    # listener_manager.(worker_<id>.)*
    _rule("envoy.worker_id", r"^listener_manager\.((worker_\d+)\.)", "listener_manager.worker_"),
)


class TagExtractor:
    """Splits names into (tag-extracted name, tags); tags are in rule order, as Envoy emits them."""

    __slots__ = ("_rules", "_cache")

    def __init__(self, rules: tuple[_Rule, ...] = DEFAULT_RULES) -> None:
        self._rules = rules
        self._cache: dict[str, tuple[str, Tags]] = {}

    def extract(self, name: str) -> tuple[str, Tags]:
        cached = self._cache.get(name)
        if cached is None:
            cached = self._cache[name] = self._extract(name)
        return cached

    def _extract(self, name: str) -> tuple[str, Tags]:
        tags: list[tuple[str, str]] = []
        cut = bytearray(len(name))  # 1 where a character is removed
        for rule in self._rules:
            if rule.substring and rule.substring not in name:
                continue
            match = rule.regex.search(name)
            if match is None:
                continue
            value_group = 2 if match.re.groups >= 2 else 1
            tags.append((rule.tag, match.group(value_group)))
            start, end = match.span(1)
            cut[start:end] = b"\x01" * (end - start)
        if not tags:
            return name, ()
        return "".join(ch for ch, removed in zip(name, cut, strict=True) if not removed), tuple(tags)
