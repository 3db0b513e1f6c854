"""The Fraud Detection Handbook's 15 model inputs, as fraudstream feature names and back.

Source: Le Borgne et al., *Reproducible Machine Learning for Credit Card Fraud Detection -
Practical Handbook*, chapter 3 (see ``/work/shared/reference/evaluation.md`` §1). Customer
windows include the current transaction; terminal (merchant) windows are shifted back by the
delay d = 7 days: ``NB_TX = count(t-d-n, t-d]``, ``RISK = frauds / NB_TX`` (0 when no tx).

>>> HANDBOOK_NAMES["customer_count_7d"]
'CUSTOMER_ID_NB_TX_7DAY_WINDOW'
>>> len(HANDBOOK_SELECT)
15
"""

from __future__ import annotations

__all__ = ["HANDBOOK_NAMES", "HANDBOOK_SELECT"]

HANDBOOK_SELECT: tuple[str, ...] = (
    "amount", "is_weekend", "is_night",
    *[name for n in (1, 7, 30) for name in (f"customer_count_{n}d", f"customer_mean_{n}d")],
    *[name for n in (1, 7, 30) for name in (f"merchant_delayed_count_{n}d", f"merchant_risk_{n}d")],
)
"""fraudstream names of the Handbook inputs, in the Handbook's column order."""

HANDBOOK_NAMES: dict[str, str] = {
    "amount": "TX_AMOUNT",
    "is_weekend": "TX_DURING_WEEKEND",
    "is_night": "TX_DURING_NIGHT",
    **{f"customer_count_{n}d": f"CUSTOMER_ID_NB_TX_{n}DAY_WINDOW" for n in (1, 7, 30)},
    **{f"customer_mean_{n}d": f"CUSTOMER_ID_AVG_AMOUNT_{n}DAY_WINDOW" for n in (1, 7, 30)},
    **{f"merchant_delayed_count_{n}d": f"TERMINAL_ID_NB_TX_{n}DAY_WINDOW" for n in (1, 7, 30)},
    **{f"merchant_risk_{n}d": f"TERMINAL_ID_RISK_{n}DAY_WINDOW" for n in (1, 7, 30)},
}
"""fraudstream name -> Handbook column name."""
