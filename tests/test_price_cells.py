"""Every price cell of both documents, at every tier edge, in every region.

The tables below are transcribed from the seed documents independently of the
`.rules` files, so a typo in either shows up here.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

import ratecard

D = Decimal
K, M = 1_000, 1_000_000

# Region ID -> display name as the documents write it.
CHINA_7 = {
    "cn-beijing": "China (Beijing)", "cn-shanghai": "China (Shanghai)", "cn-hangzhou": "China (Hangzhou)",
    "cn-shenzhen": "China (Shenzhen)", "cn-qingdao": "China (Qingdao)", "cn-zhangjiakou": "China (Zhangjiakou)",
    "cn-wulanchabu": "China (Ulanqab)",
}
CHINA_4 = {k: CHINA_7[k] for k in ("cn-beijing", "cn-shanghai", "cn-hangzhou", "cn-shenzhen")}
INTERNATIONAL = {
    "ap-southeast-1": "Singapore", "cn-hongkong": "China (Hong Kong)", "eu-central-1": "Germany (Frankfurt)",
    "us-east-1": "US (Virginia)", "us-west-1": "US (Silicon Valley)", "ap-northeast-1": "Japan (Tokyo)",
    "ap-southeast-5": "Indonesia (Jakarta)", "na-south-1": "Mexico (Queretaro)",
}

# (upper bound of the tier, input USD/1K, output USD/1K) — identical in both documents for qwen-plus.
QWEN_CHINA = [(128 * K, D("0.000138"), D("0.000344")), (256 * K, D("0.000414"), D("0.003442")),
              (1 * M, D("0.000827"), D("0.008257"))]
QWEN_INTERNATIONAL = [(256 * K, D("0.000480"), D("0.001440")), (1 * M, D("0.001440"), D("0.004320"))]
EDGES = [0, 1, 128 * K, 128 * K + 1, 256 * K, 256 * K + 1, 1 * M]

BOOKS = {
    "emr-starrocks-ai-function": [(CHINA_7, QWEN_CHINA), (INTERNATIONAL, QWEN_INTERNATIONAL)],
    "emr-serverless-spark-ai-center": [(CHINA_4, QWEN_CHINA), (INTERNATIONAL, QWEN_INTERNATIONAL)],
}


def expected_tier(tiers, tokens):
    for index, (upper, price_in, price_out) in enumerate(tiers, start=1):
        if tokens <= upper:
            return index, price_in, price_out
    raise AssertionError("beyond the table")


def cases():
    for book, groups in BOOKS.items():
        for regions, tiers in groups:
            for region_id, display in regions.items():
                for edge in EDGES:
                    yield pytest.param(book, region_id, display, tiers, edge, id=f"{book}-{region_id}-{edge}")


@pytest.mark.parametrize("book_name, region_id, display, tiers, input_tokens", list(cases()))
def test_qwen_plus_price_cell(book_name, region_id, display, tiers, input_tokens):
    book = ratecard.load(book_name)
    index, price_in, price_out = expected_tier(tiers, input_tokens)
    for place in (region_id, display):
        quote = book.quote(region=place, model="qwen-plus", tokens={"input": input_tokens, "output": 1000},
                           at="2026-05-01T12:00+08:00")
        assert quote.region == region_id
        assert quote.currency == "USD"
        assert quote.tier.index == index
        assert quote.line("input").unit_price == price_in
        assert quote.line("output").unit_price == price_out
        assert quote.line("input").amount == price_in * input_tokens / 1000
        assert quote.line("output").amount == price_out
        assert quote.total == price_in * input_tokens / 1000 + price_out


@pytest.mark.parametrize("book_name, region_id, tiers", [
    pytest.param(book, region_id, tiers, id=f"{book}-{region_id}")
    for book, groups in BOOKS.items() for regions, tiers in groups for region_id in regions])
def test_qwen_plus_beyond_highest_tier(book_name, region_id, tiers):
    book = ratecard.load(book_name)
    with pytest.raises(ratecard.BeyondHighestTier, match="1000001 input tokens"):
        book.quote(region=region_id, model="qwen-plus", tokens={"input": 1 * M + 1, "output": 0},
                   at="2026-05-01T12:00+08:00")


@pytest.mark.parametrize("regions, price", [(CHINA_4, D("0.000086")), (INTERNATIONAL, D("0.000084"))])
def test_text_embedding_v4(ai_center, regions, price):
    for region_id, display in regions.items():
        for place in (region_id, display):
            quote = ai_center.quote(region=place, model="text-embedding-v4",
                                    tokens={"input": 2 * M, "output": 500}, at="2026-05-01T12:00+08:00")
            assert quote.line("input").unit_price == price
            assert quote.line("input").amount == price * 2000
            assert quote.line("output").billed is False
            assert quote.line("output").amount == 0
            assert quote.total == price * 2000


def test_cny_exists_only_where_the_document_states_it(ai_center, starrocks):
    cny = ai_center.quote(region="cn-beijing", model="qwen-plus", tokens={"input": 1000, "output": 1000},
                          currency="CNY", at="2026-05-01T12:00+08:00")
    assert (cny.line("input").unit_price, cny.line("output").unit_price) == (D("0.00096"), D("0.0024"))
    with pytest.raises(ratecard.NoPriceInCurrency):  # second tier: no CNY price in the document
        ai_center.quote(region="cn-beijing", model="qwen-plus", tokens={"input": 200 * K, "output": 1},
                        currency="CNY", at="2026-05-01T12:00+08:00")
    with pytest.raises(ratecard.NoPriceInCurrency):  # international group: no CNY price
        ai_center.quote(region="us-east-1", model="qwen-plus", tokens={"input": 1, "output": 1},
                        currency="CNY", at="2026-05-01T12:00+08:00")
    with pytest.raises(ratecard.NoPriceInCurrency):  # the AI Function book has USD only
        starrocks.quote(region="cn-beijing", model="qwen-plus", tokens={"input": 1, "output": 1}, currency="CNY")


def test_region_groups_differ_between_documents(ai_center, starrocks):
    assert len(starrocks.groups["china"]) == 7 and len(ai_center.groups["china"]) == 4
    assert set(starrocks.groups["international"]) == set(ai_center.groups["international"]) == set(INTERNATIONAL)
    with pytest.raises(ratecard.RegionNotOffered, match="cn-qingdao"):
        ai_center.quote(region="China (Qingdao)", model="qwen-plus", tokens={"input": 1, "output": 1})


def test_the_starrocks_book_has_its_free_quota(starrocks):
    quota = starrocks.quota
    assert (quota.free_tokens, quota.window_length, quota.window_unit) == (1_000_000, 1, "months")
    assert quota.consumes == ("input", "output")


def test_zero_tokens_cost_zero(starrocks):
    quote = starrocks.quote(region="us-east-1", model="qwen-plus", tokens={"input": 0, "output": 0})
    assert quote.total == 0 and quote.total_rounded == 0
    assert quote.tier.index == 1
