"""The FOCUS 1.2 export, column by column against the specification's rules (docs/focus.md quotes them)."""

from __future__ import annotations

import csv
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from ratecard.records import read_usage
from ratecard.writers import FOCUS_COLUMNS, to_focus

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "usage.csv"
D = Decimal
DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")  # FOCUS Date/Time Format, in UTC
MANDATORY = {  # the Mandatory columns of FOCUS 1.2 (docs/focus.md, table 1)
    "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd",
    "BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargePeriodEnd",
    "ChargePeriodStart", "ContractedCost", "EffectiveCost", "InvoiceIssuerName", "ListCost", "PricingQuantity",
    "PricingUnit", "ProviderName", "PublisherName", "ServiceCategory", "ServiceName",
}
NOT_NULL_ON_USAGE = MANDATORY - {"BillingAccountName", "ChargeClass"} | {
    "ChargeFrequency", "ConsumedQuantity", "ConsumedUnit", "ListUnitPrice", "PricingCategory", "SkuId",
    "SkuPriceId", "RegionId", "RegionName", "SkuMeter", "ServiceSubcategory"}
SERVICE_CATEGORIES = {"AI and Machine Learning", "Analytics", "Business Applications", "Compute", "Databases",
                      "Developer Tools", "Multicloud", "Identity", "Integration", "Internet of Things",
                      "Management and Governance", "Media", "Migration", "Mobile", "Networking", "Security",
                      "Storage", "Web", "Other"}


@pytest.fixture(scope="module")
def rows(starrocks):
    bill = starrocks.bill(read_usage([EXAMPLE]))
    text = to_focus(bill, starrocks)
    return bill, text.splitlines()[0].split(","), list(csv.DictReader(text.splitlines()))


def test_columns_are_the_mandatory_ones_and_more_focus_first_then_custom(rows):
    _, header, _ = rows
    assert tuple(header) == FOCUS_COLUMNS
    focus = [c for c in header if not c.startswith("x_")]
    assert focus == sorted(focus) and header[len(focus):] == [c for c in header if c.startswith("x_")]
    assert MANDATORY <= set(focus)


def test_usage_rows_fill_every_column_the_spec_requires(rows):
    _, _, data = rows
    for row in (r for r in data if r["ChargeCategory"] == "Usage"):
        assert not [c for c in NOT_NULL_ON_USAGE if row[c] == ""], row
        assert row["ChargeFrequency"] == "Usage-Based" and row["PricingCategory"] == "Standard"
        assert row["ConsumedUnit"] == "Tokens" and row["PricingUnit"] == "1000 Tokens"
        assert D(row["ListUnitPrice"]) * D(row["PricingQuantity"]) == D(row["ListCost"])  # exactly
        assert D(row["ConsumedQuantity"]) == D(row["PricingQuantity"]) * 1000
        assert row["ListCost"] == row["ContractedCost"] == row["BilledCost"] == row["EffectiveCost"]


def test_credit_rows_carry_the_negative_amount_in_all_four_costs_and_no_quantities(rows):
    _, _, data = rows
    credits = [r for r in data if r["ChargeCategory"] == "Credit"]
    assert credits and {r["x_ChargeKind"] for r in credits} == {"quota"}
    for row in credits:
        assert D(row["BilledCost"]) < 0
        assert row["ListCost"] == row["ContractedCost"] == row["EffectiveCost"] == row["BilledCost"]
        assert row["ConsumedQuantity"] == row["ConsumedUnit"] == row["ListUnitPrice"] == row["PricingQuantity"] == ""


def test_dates_are_utc_and_each_charge_period_lies_in_its_billing_period(rows):
    _, _, data = rows
    for row in data:
        stamps = [row[c] for c in ("ChargePeriodStart", "ChargePeriodEnd", "BillingPeriodStart", "BillingPeriodEnd")]
        assert all(DATETIME.match(s) for s in stamps)
        charge_start, charge_end, period_start, period_end = stamps
        assert period_start <= charge_start < charge_end <= period_end
        assert period_start == "2026-04-30T16:00:00Z"  # May 2026 in the book's UTC+8


def test_values_come_from_the_allowed_lists_and_costs_are_plain_decimals(rows):
    bill, _, data = rows
    for row in data:
        assert row["ChargeCategory"] in {"Usage", "Credit"} and row["ChargeClass"] == ""
        assert row["ServiceCategory"] in SERVICE_CATEGORIES
        assert row["ProviderName"] == row["PublisherName"] == row["InvoiceIssuerName"] == "Alibaba Cloud"
        details = json.loads(row["SkuPriceDetails"])
        assert details and all(key.startswith("x_") for key in details)
        for column in ("BilledCost", "ListCost", "EffectiveCost", "ContractedCost", "ListUnitPrice",
                       "PricingQuantity"):
            assert "E" not in row[column] and row[column] != "-0"
        assert ":USD" not in row["SkuPriceId"]
    assert sum(D(r["BilledCost"]) for r in data) == bill.totals["USD"].billed
    assert sum(D(r["EffectiveCost"]) for r in data) == bill.totals["USD"].billed
    assert sum(D(r["x_BilledCostRounded"]) for r in data) == bill.totals["USD"].billed_rounded


def test_a_credit_of_nothing_is_not_a_row(ai_center):
    bill = ai_center.bill([{"timestamp": "2026-04-01T00:00:00Z", "account": "a", "region": "Singapore",
                            "model": "text-embedding-v4", "input_tokens": "1000", "output_tokens": "99"}])
    data = list(csv.DictReader(to_focus(bill, ai_center).splitlines()))
    assert [(r["x_ChargeKind"], r["SkuMeter"]) for r in data] == [("usage", "Input Tokens"), ("trial", "Input Tokens"),
                                                                  ("usage", "Output Tokens")]
