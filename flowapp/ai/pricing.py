"""Cost of a call from per-model prices, in integer micro-units of the price's currency.

Prices are per 1M tokens, so a token costs `price` micro-units: the cost of a call is exactly
tokens_in * input_price + tokens_out * output_price micro-units (rounded to a whole one). Integers
keep sums exact on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Mapping


def cost_micros(
    model: str, tokens_in: int, tokens_out: int, prices: Mapping[str, tuple[float, float]]
) -> int | None:
    """The call's cost in micro-units, or None when `model` has no price (unknown, not free)."""
    price = prices.get(model)
    if price is None:
        return None
    input_price, output_price = price
    return round(tokens_in * input_price + tokens_out * output_price)
