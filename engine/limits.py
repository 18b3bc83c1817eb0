"""The limits of what ratecard bills, in one place.

Gives the largest counts a usage record or a quote may carry, the range of
timestamps a bill can hold, and the largest numbers a rules file may write
(`check.py` reports what exceeds them, R037-R041). Everything the engine accepts within them is
priced exactly (decimal arithmetic with precision to spare); anything beyond
them is refused with a reason that names the limit, never a traceback.
"""

from __future__ import annotations

from datetime import datetime, timezone

MAX_COUNT_DIGITS = 15
MAX_TOKENS = 10**MAX_COUNT_DIGITS  # tokens of one type per request: below this
MAX_REQUESTS = 10**12  # requests one record or quote stands for: at most this
MAX_LINE_BYTES = 65_536  # one line of a usage file (below the csv module's own field limit)
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)  # timestamps from here ...
LATEST = datetime(9000, 1, 1, tzinfo=timezone.utc)  # ... up to (not including) here
TIME_RANGE = "from 1970-01-01T00:00:00Z up to 9000-01-01T00:00:00Z"

# rules files
MAX_PRICE_DIGITS = 30  # significant digits of a price or an expected amount, as written
MAX_PRICE_DECIMALS = 30
MAX_PRICE_UNIT = 10**6  # `price per 1M tokens`
MAX_TIER_TOKENS = 10**15  # a tier bound, a free quota
MAX_VARIANT_COMBINATIONS = 4_096  # combinations of variant values one model prices in a region: an offer each
MAX_VARIANT_OFFERS = 100_000  # such offers in a whole book (they are compiled ahead)
MAX_WINDOW = {"month": 1_200, "months": 1_200, "day": 36_500, "days": 36_500}  # a quota window
