"""The router filter (``envoy.filters.http.router``) and the route table it resolves requests with."""

from gateway.filters.router.filter import Router, RouterFactory
from gateway.filters.router.table import RouteMatch, RouteTable

__all__ = ["RouteMatch", "RouteTable", "Router", "RouterFactory"]
