"""ratecard: a declarative pricing-rule language and engine for token-metered AI services.

    import ratecard
    book = ratecard.load("emr-starrocks-ai-function")
    quote = book.quote(region="us-east-1", model="qwen-plus", tokens={"input": 750, "output": 20})
    quote.total_rounded  # Decimal('0.000389')
"""

from .errors import (
                     BeyondHighestTier,
                     Diagnostic,
                     InvalidTokens,
                     NoPriceInCurrency,
                     NotEffective,
                     PricingError,
                     RatecardError,
                     RecordError,
                     RegionNotOffered,
                     RulesError,
                     UnknownModel,
                     UnknownRegion,
                     UnknownTokenType,
)
from .loader import analyze, load, loads, shipped_books
from .quote import Quote, QuoteLine
from .tables import PriceBook

__version__ = "0.1.0"

__all__ = [
    "BeyondHighestTier", "Diagnostic", "InvalidTokens", "NoPriceInCurrency", "NotEffective", "PriceBook",
    "PricingError", "Quote", "QuoteLine", "RatecardError", "RecordError", "RegionNotOffered", "RulesError",
    "UnknownModel", "UnknownRegion", "UnknownTokenType", "analyze", "load", "loads", "shipped_books",
]
