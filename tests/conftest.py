from __future__ import annotations

import os
import tempfile

import pytest

# Compiled books are cached on disk; the tests use a cache of their own, not the user's.
os.environ["RATECARD_CACHE_DIR"] = tempfile.mkdtemp(prefix="ratecard-test-cache-")

import ratecard

STARROCKS = "emr-starrocks-ai-function"
AI_CENTER = "emr-serverless-spark-ai-center"


@pytest.fixture(scope="session")
def starrocks() -> ratecard.PriceBook:
    return ratecard.load(STARROCKS)


@pytest.fixture(scope="session")
def ai_center() -> ratecard.PriceBook:
    return ratecard.load(AI_CENTER)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The Spark tests first: they are the longest group and keep to one worker (`xdist_group`), so starting them
    first lets the other workers take every other test meanwhile, instead of waiting on them at the end."""
    items.sort(key=lambda item: item.get_closest_marker("xdist_group") is None or
               item.get_closest_marker("xdist_group").args != ("spark",))
