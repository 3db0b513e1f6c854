"""Spending profiles of the ``sparkov`` world: categories, amounts, calendars and fraud.

A profile is an age band x gender x area (urban/rural), 12 in all, in the style of Sparkov's
demographic profiles (the numbers here are fraudstream's own). A profile fixes:

* the relative number of transactions per day (:data:`PROFILE_RATE`),
* the weight of each of the 14 :data:`CATEGORIES` (:data:`PROFILE_CATEGORY_WEIGHTS`),
* a factor on amounts (:data:`PROFILE_AMOUNT_FACTOR`): a legitimate amount in category ``k`` for
  profile ``p`` is ``Gamma(LEGIT_GAMMA_SHAPE[k], LEGIT_GAMMA_SCALE[k] * PROFILE_AMOUNT_FACTOR[p])``,
* day-of-week and hour-of-day weights by age band (:data:`DOW_WEIGHTS`, :data:`HOUR_WEIGHTS`).

Month weights (:data:`MONTH_WEIGHTS`, December high, January-February low) are common to all
profiles, so the mix of profiles - and so of categories - is the same in every season.

Fraud uses its own categories and amounts (:data:`FRAUD_CATEGORY_WEIGHTS`,
:data:`FRAUD_GAMMA_SHAPE`, :data:`FRAUD_GAMMA_SCALE`): large online and grocery purchases.

>>> len(CATEGORIES), len(PROFILES), PROFILE_CATEGORY_WEIGHTS.shape
(14, 12, (12, 14))
>>> PROFILES[0]
'young_female_urban'
>>> round(float(legit_amount_mean(PROFILES.index("adult_male_urban"), CATEGORIES.index("travel"))), 2)
124.74
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "AGE_BANDS",
    "AGE_BAND_SHARE",
    "AREAS",
    "AREA_SHARE",
    "CATEGORIES",
    "DOW_WEIGHTS",
    "FEMALE_SHARE",
    "FRAUD_CATEGORY_WEIGHTS",
    "FRAUD_GAMMA_SCALE",
    "FRAUD_GAMMA_SHAPE",
    "GENDERS",
    "HOUR_WEIGHTS",
    "LEGIT_GAMMA_SCALE",
    "LEGIT_GAMMA_SHAPE",
    "MONTH_WEIGHTS",
    "NIGHT_HOURS",
    "PROFILES",
    "PROFILE_AGE_BAND",
    "PROFILE_AMOUNT_FACTOR",
    "PROFILE_AREA",
    "PROFILE_CATEGORY_WEIGHTS",
    "PROFILE_GENDER",
    "PROFILE_RATE",
    "legit_amount_mean",
]

CATEGORIES: tuple[str, ...] = (
    "gas_transport", "grocery_pos", "home", "shopping_pos", "kids_pets", "shopping_net",
    "entertainment", "food_dining", "personal_care", "health_fitness", "misc_pos", "misc_net",
    "grocery_net", "travel",
)
"""The 14 merchant categories of the Kaggle/Sparkov data."""

# Legitimate amounts per category: Gamma(shape, scale), mean = shape * scale (before the profile factor).
_LEGIT_GAMMA = {
    "gas_transport": (6.0, 10.5),  # 63.0
    "grocery_pos": (4.0, 28.0),  # 112.0
    "home": (1.6, 36.0),  # 57.6
    "shopping_pos": (1.2, 62.0),  # 74.4
    "kids_pets": (1.5, 38.0),  # 57.0
    "shopping_net": (1.1, 66.0),  # 72.6
    "entertainment": (1.4, 45.0),  # 63.0
    "food_dining": (1.8, 28.0),  # 50.4
    "personal_care": (1.5, 32.0),  # 48.0
    "health_fitness": (2.2, 24.0),  # 52.8
    "misc_pos": (1.0, 62.0),  # 62.0
    "misc_net": (0.9, 80.0),  # 72.0
    "grocery_net": (3.0, 18.0),  # 54.0
    "travel": (0.6, 180.0),  # 108.0
}
LEGIT_GAMMA_SHAPE = np.array([_LEGIT_GAMMA[c][0] for c in CATEGORIES])
"""Gamma shape of legitimate amounts, per category."""
LEGIT_GAMMA_SCALE = np.array([_LEGIT_GAMMA[c][1] for c in CATEGORIES])
"""Gamma scale of legitimate amounts, per category (times :data:`PROFILE_AMOUNT_FACTOR`)."""

AGE_BANDS: tuple[str, ...] = ("young", "adult", "senior")
"""18-25, 26-50 and 51-90 years old at the world's start."""
AGE_RANGES: tuple[tuple[int, int], ...] = ((18, 25), (26, 50), (51, 90))
AGE_BAND_SHARE = np.array([0.18, 0.50, 0.32])
GENDERS: tuple[str, ...] = ("F", "M")
FEMALE_SHARE = 0.54
AREAS: tuple[str, ...] = ("urban", "rural")
AREA_SHARE = np.array([0.68, 0.32])

PROFILES: tuple[str, ...] = tuple(
    f"{band}_{'female' if gender == 'F' else 'male'}_{area}"
    for band in AGE_BANDS for gender in GENDERS for area in AREAS
)
"""The 12 profiles, ``<age band>_<gender>_<area>``."""
PROFILE_AGE_BAND = np.repeat(np.arange(3), 4)
PROFILE_GENDER = np.tile(np.repeat(np.arange(2), 2), 3)
PROFILE_AREA = np.tile(np.arange(2), 6)

# Category weights: a base per age band, multiplied by gender and area factors.
_AGE_CATEGORY = np.array([
    # gas  groc_p home shop_p kids shop_n ent  food  pcare hfit misc_p misc_n groc_n travel
    [10.0, 9.0,  6.0, 9.0,  5.0, 11.0, 10.0, 10.0, 8.0,  7.0, 5.0,  6.0,  4.0,  2.0],  # young
    [10.0, 10.0, 9.0, 9.0,  9.0, 7.5,  7.0,  7.0,  7.0,  6.0, 6.0,  5.0,  4.0,  2.5],  # adult
    [9.0,  11.0, 10.0, 8.0, 6.0, 5.0,  6.0,  7.5,  7.0,  7.0, 6.5,  4.0,  3.5,  3.0],  # senior
])
_GENDER_CATEGORY = np.array([
    [0.9, 1.1, 1.05, 1.15, 1.15, 1.1, 0.9, 1.0, 1.3, 1.0, 1.0, 1.0, 1.1, 1.0],  # F
    [1.15, 0.9, 0.95, 0.85, 0.85, 0.9, 1.15, 1.05, 0.7, 1.0, 1.05, 1.05, 0.9, 1.0],  # M
])
_AREA_CATEGORY = np.array([
    [0.85, 1.0, 0.95, 1.05, 1.0, 1.0, 1.15, 1.2, 1.05, 1.1, 1.0, 0.95, 1.0, 1.1],  # urban
    [1.3, 1.05, 1.1, 0.9, 1.0, 1.05, 0.8, 0.75, 0.95, 0.85, 1.0, 1.1, 1.0, 0.85],  # rural
])
_weights = (_AGE_CATEGORY[PROFILE_AGE_BAND] * _GENDER_CATEGORY[PROFILE_GENDER]
            * _AREA_CATEGORY[PROFILE_AREA])
PROFILE_CATEGORY_WEIGHTS = _weights / _weights.sum(axis=1, keepdims=True)
"""Share of each category in a profile's legitimate spending: (12 profiles, 14 categories)."""

PROFILE_RATE = (np.array([0.85, 1.15, 0.9])[PROFILE_AGE_BAND] * np.array([1.08, 0.88])[PROFILE_AREA])
"""Relative legitimate transactions per day of each profile (times the world's ``tx_per_day``)."""

PROFILE_AMOUNT_FACTOR = (np.array([0.8, 1.1, 1.0])[PROFILE_AGE_BAND]
                         * np.array([1.05, 0.92])[PROFILE_AREA])
"""Factor on the Gamma scale of a profile's legitimate amounts."""

_DOW = np.array([
    # Mon  Tue   Wed   Thu   Fri   Sat   Sun
    [0.85, 0.85, 0.9, 0.95, 1.15, 1.25, 1.05],  # young: weekends
    [1.0, 0.95, 0.95, 1.0, 1.1, 1.05, 0.95],  # adult
    [1.05, 1.05, 1.05, 1.0, 1.0, 0.95, 0.9],  # senior: weekdays
])
DOW_WEIGHTS = _DOW / _DOW.mean(axis=1, keepdims=True)
"""Day-of-week weights by age band (Monday first), mean 1."""

_MONTH = np.array([0.85, 0.85, 0.95, 0.97, 1.0, 1.05, 1.05, 1.0, 0.95, 0.96, 1.08, 1.35])
_DAYS_IN_MONTH = np.array([31, 28.25, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
MONTH_WEIGHTS = _MONTH / (_MONTH * _DAYS_IN_MONTH).sum() * _DAYS_IN_MONTH.sum()
"""Seasonal weights by month (January first), common to all profiles; mean 1 over a year."""

_HOUR = np.array([
    [1.2, 0.8, 0.5, 0.3, 0.2, 0.2, 0.4, 0.8, 1.2, 1.6, 2.0, 2.6, 3.4, 3.6, 3.4, 3.4, 3.6, 4.0,
     4.4, 4.6, 4.4, 3.8, 3.0, 2.0],  # young: evenings
    [0.5, 0.3, 0.2, 0.2, 0.2, 0.4, 1.0, 1.8, 2.4, 2.8, 3.0, 3.4, 4.0, 3.8, 3.4, 3.4, 3.6, 4.2,
     4.4, 4.0, 3.4, 2.6, 1.6, 0.9],  # adult
    [0.3, 0.2, 0.2, 0.2, 0.3, 0.6, 1.4, 2.4, 3.2, 3.8, 4.2, 4.4, 4.4, 4.0, 3.8, 3.6, 3.4, 3.2,
     2.8, 2.2, 1.6, 1.0, 0.6, 0.4],  # senior: mornings
])
HOUR_WEIGHTS = _HOUR / _HOUR.sum(axis=1, keepdims=True)
"""Hour-of-day probabilities of legitimate transactions by age band."""

NIGHT_HOURS = np.array([22, 23, 0, 1, 2, 3])
"""The hours of the fraud night window, 22:00-04:00."""

# Fraud: category weights and Gamma(shape, scale) of amounts. Large online and grocery purchases.
_FRAUD = {
    "shopping_net": (0.26, 12.0, 83.0),  # mean 996
    "grocery_pos": (0.24, 30.0, 10.3),  # 309
    "misc_net": (0.14, 9.0, 88.0),  # 792
    "shopping_pos": (0.14, 8.0, 110.0),  # 880
    "misc_pos": (0.06, 6.0, 45.0),  # 270
    "home": (0.05, 10.0, 25.0),  # 250
    "entertainment": (0.05, 8.0, 60.0),  # 480
    "travel": (0.06, 4.0, 12.0),  # 48: a small first test of the card
}
FRAUD_CATEGORY_WEIGHTS = np.array([_FRAUD.get(c, (0.0, 1.0, 1.0))[0] for c in CATEGORIES])
"""Share of each category among fraudulent transactions."""
FRAUD_GAMMA_SHAPE = np.array([_FRAUD.get(c, (0.0, 1.0, 1.0))[1] for c in CATEGORIES])
FRAUD_GAMMA_SCALE = np.array([_FRAUD.get(c, (0.0, 1.0, 1.0))[2] for c in CATEGORIES])


def legit_amount_mean(profile: int | np.ndarray, category: int | np.ndarray) -> np.ndarray:
    """Mean of the Gamma distribution of legitimate amounts (before the $1 floor and rounding)."""
    return LEGIT_GAMMA_SHAPE[category] * LEGIT_GAMMA_SCALE[category] * PROFILE_AMOUNT_FACTOR[profile]
