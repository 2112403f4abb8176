"""Wiring of the customers service: store, handlers, subscribers and HTTP router."""

from __future__ import annotations

from shared.service import Service, ServiceContext


def create_service(ctx: ServiceContext) -> Service:
    return Service(name="customers")
