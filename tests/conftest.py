from __future__ import annotations

import pytest

import ratecard

STARROCKS = "emr-starrocks-ai-function"
AI_CENTER = "emr-serverless-spark-ai-center"


@pytest.fixture(scope="session")
def starrocks() -> ratecard.PriceBook:
    return ratecard.load(STARROCKS)


@pytest.fixture(scope="session")
def ai_center() -> ratecard.PriceBook:
    return ratecard.load(AI_CENTER)
