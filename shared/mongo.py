"""One MongoDB client per process (PyMongo's async API), one database per service."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

Document = dict[str, Any]


def make_client(url: str) -> AsyncMongoClient[Document]:
    # tz_aware: datetimes come back as UTC-aware, matching the contracts.
    return AsyncMongoClient(url, tz_aware=True, uuidRepresentation="standard")


def database(client: AsyncMongoClient[Document], name: str) -> AsyncDatabase[Document]:
    return client.get_database(name)


async def ping(client: AsyncMongoClient[Document]) -> bool:
    try:
        await client.admin.command("ping")
    except Exception:
        return False
    return True


async def insert_once(db: AsyncDatabase[Document], collection: str, doc: Document) -> bool:
    """Insert a document keyed by `_id`; False when it was there already (a redelivery)."""
    try:
        await db[collection].insert_one(doc)
    except DuplicateKeyError:
        return False
    return True
