"""The people and merchants of the ``sparkov`` world: names, addresses, jobs, cards, companies.

All of it is made up from small built-in word lists (no network, no Faker), drawn with numpy
from the world's seed: customers live in real US cities (urban) or in small towns spread over a
state (rural); merchants are companies named ``fraud_<Company>`` like in the Kaggle data, each
selling in one category.

>>> rng = np.random.default_rng(1)
>>> people = make_customers(rng, 5, start_year=2019)
>>> list(people.columns)  # doctest: +NORMALIZE_WHITESPACE
['cc_num', 'first', 'last', 'gender', 'street', 'city', 'state', 'zip', 'lat', 'long', 'city_pop',
 'job', 'dob', 'profile']
>>> bool(people["cc_num"].map(luhn_valid).all())
True
>>> make_merchants(rng, 3)["merchant"].str.startswith("fraud_").all()
np.True_
"""

# ruff: noqa: SIM905  (the word lists below read best as wrapped text, split once at import)

from __future__ import annotations

import numpy as np
import pandas as pd

from fraudstream.worlds.sparkov_profiles import (
    AGE_BAND_SHARE,
    AGE_RANGES,
    AREA_SHARE,
    CATEGORIES,
    FEMALE_SHARE,
    PROFILE_CATEGORY_WEIGHTS,
)

__all__ = ["luhn_valid", "make_customers", "make_merchants"]

FEMALE_NAMES = (
    "Mary Jennifer Linda Patricia Elizabeth Susan Jessica Sarah Karen Nancy Lisa Betty Margaret Sandra "
    "Ashley Kimberly Emily Donna Michelle Carol Amanda Melissa Deborah Stephanie Rebecca Laura Sharon "
    "Cynthia Kathleen Amy Angela Shirley Anna Brenda Pamela Emma Nicole Helen Samantha Katherine "
    "Christine Debra Rachel Carolyn Janet Catherine Maria Heather Diane Julie Joyce Victoria Kelly "
    "Christina Lauren Joan Evelyn Olivia Judith Megan Cheryl Martha Andrea Frances Hannah Jacqueline "
    "Ann Gloria Jean Kathryn Alice Teresa Sara Janice Doris Madison Julia Grace Judy Abigail Marie"
).split()
MALE_NAMES = (
    "James Robert John Michael David William Richard Joseph Thomas Charles Christopher Daniel Matthew "
    "Anthony Mark Donald Steven Paul Andrew Joshua Kenneth Kevin Brian George Timothy Ronald Edward "
    "Jason Jeffrey Ryan Jacob Gary Nicholas Eric Jonathan Stephen Larry Justin Scott Brandon Benjamin "
    "Samuel Gregory Alexander Frank Patrick Raymond Jack Dennis Jerry Tyler Aaron Jose Adam Nathan "
    "Henry Douglas Zachary Peter Kyle Ethan Walter Noah Jeremy Christian Keith Roger Terry Gerald "
    "Harold Sean Austin Carl Arthur Lawrence Dylan Jesse Jordan Bryan Billy Joe Bruce Gabriel Logan"
).split()
LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez "
    "Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark "
    "Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams "
    "Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker "
    "Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper "
    "Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James "
    "Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster"
).split()
COMPANY_WORDS = (
    "Abbott Altenwerth Bahringer Bartell Bechtelar Bogisich Boyer Brekke Carroll Cassin Champlin "
    "Conroy Cormier Cremin Daugherty Dickinson Durgan Ebert Effertz Feeney Fisher Gerhold Goldner "
    "Greenfelder Gulgowski Haley Hammes Hauck Heaney Hegmann Heller Herzog Hilpert Hintz Hoeger "
    "Jaskolski Jast Kassulke Keebler Kemmer Kihn Kirlin Koepp Kohler Konopelski Kovacek Kozey Kub "
    "Kuhlman Kunze Kuphal Labadie Langosh Larkin Leannon Lebsack Ledner Lehner Lemke Lesch Lind "
    "Lockman Lowe Lubowitz Lueilwitz Macejkovic Mante Marks Marvin McCullough McDermott Medhurst "
    "Mertz Metz Monahan Morissette Mosciski Murazik Nader Nienow Nitzsche Olson Ondricka Osinski "
    "Paucek Pfannerstill Prohaska Quigley Rath Reichert Reilly Rempel Reynolds Rippin Roob Rosenbaum "
    "Runolfsdottir Ruecker Sauer Schaefer Schiller Schmitt Schoen Schroeder Schultz Shanahan Sipes "
    "Skiles Spinka Stamm Stark Stokes Stroman Swaniawski Terry Thiel Tillman Torphy Towne Tremblay "
    "Trantow Turcotte Upton Veum Volkman Waelchi Walter Weimann Welch Wiegand Witting Wuckert Yost "
    "Zboncak Ziemann Zulauf"
).split()
COMPANY_SUFFIXES = ("Inc", "LLC", "Ltd", "Group", "PLC", "and Sons")
STREET_NAMES = (
    "Oak Maple Pine Cedar Elm Washington Lake Hill Park Main Church Walnut Spring Ridge Forest River "
    "Meadow Sunset Highland Jackson Lincoln Madison Franklin Willow Cherry Chestnut Valley Mill "
    "Jefferson Adams Lee Hickory Birch Laurel Dogwood Spruce Summit Prairie Bridge Center"
).split()
STREET_SUFFIXES = ("St", "Ave", "Rd", "Dr", "Ln", "Way", "Ct", "Pl", "Blvd", "Trail")
JOBS = (
    "Accountant|Architect|Barista|Biomedical engineer|Bookseller|Building surveyor|Chef|Chemist|"
    "Civil engineer|Clinical psychologist|Copywriter|Data scientist|Dentist|Designer, graphic|"
    "Electrician|Energy manager|Farm manager|Firefighter|Fitness instructor|Geologist|Hairdresser|"
    "Historian|Hospital doctor|Hotel manager|Insurance underwriter|IT consultant|Journalist|"
    "Lawyer|Librarian|Logistics manager|Mechanical engineer|Midwife|Musician|Nurse, adult|"
    "Occupational therapist|Paramedic|Pharmacist|Physiotherapist|Pilot, airline|Police officer|"
    "Programmer, systems|Quantity surveyor|Radio producer|Research scientist|Retail manager|"
    "Sales executive|Social worker|Software engineer|Solicitor|Surveyor, land|Teacher, primary school|"
    "Teacher, secondary school|Tour manager|Translator|Veterinary surgeon|Water engineer|Web designer"
).split("|")
TOWN_NAMES = (
    "Fairview Midway Oak Grove Franklin Riverside Centerville Mount Pleasant Georgetown Salem Greenville "
    "Bristol Clinton Madison Marion Springfield Ashland Burlington Chester Dayton Dover Milton Newport "
    "Oxford Jackson Lebanon Auburn Kingston Shelby Hudson Arlington Clayton Harmony Liberty Union Hope"
).replace("Oak Grove", "Oak_Grove").replace("Mount Pleasant", "Mount_Pleasant").split()

# state: (centre lat, centre lon, half-height deg, half-width deg, zip low, zip high, weight)
STATES = {
    "AL": (32.8, -86.8, 1.6, 1.2, 35004, 36925, 2), "AR": (34.9, -92.4, 1.2, 1.8, 71601, 72959, 2),
    "AZ": (34.2, -111.7, 1.8, 1.8, 85001, 86556, 2), "CA": (36.8, -119.4, 2.5, 2.0, 90001, 96162, 6),
    "CO": (39.0, -105.5, 1.3, 2.5, 80001, 81658, 2), "FL": (28.6, -82.4, 1.8, 1.2, 32003, 34997, 4),
    "GA": (32.7, -83.4, 1.6, 1.3, 30002, 31999, 3), "IA": (42.0, -93.5, 0.9, 2.3, 50001, 52809, 2),
    "IL": (40.0, -89.2, 2.0, 1.2, 60001, 62999, 4), "IN": (39.9, -86.3, 1.6, 1.0, 46001, 47997, 2),
    "KY": (37.5, -85.3, 0.8, 2.5, 40003, 42788, 2), "MI": (43.6, -84.7, 1.5, 1.5, 48001, 49971, 3),
    "MN": (46.3, -94.3, 2.2, 2.0, 55001, 56763, 2), "MO": (38.4, -92.5, 1.5, 2.2, 63001, 65899, 3),
    "NC": (35.5, -79.4, 0.8, 3.0, 27006, 28909, 3), "NE": (41.5, -99.8, 0.9, 3.5, 68001, 69367, 1),
    "NY": (42.9, -75.5, 1.3, 3.0, 10001, 14975, 5), "OH": (40.3, -82.8, 1.4, 1.6, 43001, 45999, 3),
    "OK": (35.6, -97.5, 1.2, 2.7, 73001, 74966, 2), "PA": (40.9, -77.8, 0.9, 2.8, 15001, 19640, 5),
    "TN": (35.8, -86.3, 0.7, 3.5, 37010, 38589, 2), "TX": (31.3, -99.3, 3.5, 4.5, 75001, 79999, 7),
    "VA": (37.5, -78.8, 0.9, 2.5, 22001, 24658, 2), "WA": (47.4, -120.5, 1.2, 2.5, 98001, 99403, 2),
    "WI": (44.6, -89.9, 1.8, 1.8, 53001, 54990, 2), "WV": (38.6, -80.6, 1.0, 1.6, 24701, 26886, 1),
}
# city: (state, lat, lon, population, first zip)
CITIES = {
    "Birmingham": ("AL", 33.52, -86.80, 200_733, 35203),
    "Little Rock": ("AR", 34.75, -92.29, 202_591, 72201),
    "Phoenix": ("AZ", 33.45, -112.07, 1_608_139, 85003),
    "Tucson": ("AZ", 32.22, -110.97, 542_629, 85701),
    "Los Angeles": ("CA", 34.05, -118.24, 3_898_747, 90012),
    "San Diego": ("CA", 32.72, -117.16, 1_386_932, 92101),
    "San Jose": ("CA", 37.34, -121.89, 1_013_240, 95110),
    "Fresno": ("CA", 36.74, -119.79, 542_107, 93721),
    "Denver": ("CO", 39.74, -104.99, 715_522, 80202),
    "Colorado Springs": ("CO", 38.83, -104.82, 478_961, 80903),
    "Miami": ("FL", 25.76, -80.19, 442_241, 33128),
    "Orlando": ("FL", 28.54, -81.38, 307_573, 32801),
    "Tampa": ("FL", 27.95, -82.46, 384_959, 33602),
    "Atlanta": ("GA", 33.75, -84.39, 498_715, 30303),
    "Savannah": ("GA", 32.08, -81.09, 147_780, 31401),
    "Des Moines": ("IA", 41.59, -93.62, 214_133, 50309),
    "Chicago": ("IL", 41.88, -87.63, 2_746_388, 60602),
    "Peoria": ("IL", 40.69, -89.59, 113_150, 61602),
    "Indianapolis": ("IN", 39.77, -86.16, 887_642, 46204),
    "Louisville": ("KY", 38.25, -85.76, 617_638, 40202),
    "Detroit": ("MI", 42.33, -83.05, 639_111, 48226),
    "Grand Rapids": ("MI", 42.96, -85.67, 198_917, 49503),
    "Minneapolis": ("MN", 44.98, -93.27, 429_954, 55401),
    "Kansas City": ("MO", 39.10, -94.58, 508_090, 64105),
    "Saint Louis": ("MO", 38.63, -90.20, 301_578, 63101),
    "Charlotte": ("NC", 35.23, -80.84, 874_579, 28202),
    "Raleigh": ("NC", 35.78, -78.64, 467_665, 27601),
    "Omaha": ("NE", 41.26, -95.93, 486_051, 68102),
    "New York City": ("NY", 40.71, -74.01, 8_804_190, 10007),
    "Buffalo": ("NY", 42.89, -78.88, 278_349, 14202),
    "Columbus": ("OH", 39.96, -83.00, 905_748, 43215),
    "Cleveland": ("OH", 41.50, -81.69, 372_624, 44113),
    "Oklahoma City": ("OK", 35.47, -97.52, 681_054, 73102),
    "Tulsa": ("OK", 36.15, -95.99, 413_066, 74103),
    "Philadelphia": ("PA", 39.95, -75.17, 1_603_797, 19102),
    "Pittsburgh": ("PA", 40.44, -80.00, 302_971, 15222),
    "Nashville": ("TN", 36.16, -86.78, 689_447, 37203),
    "Memphis": ("TN", 35.15, -90.05, 633_104, 38103),
    "Houston": ("TX", 29.76, -95.37, 2_304_580, 77002),
    "Dallas": ("TX", 32.78, -96.80, 1_304_379, 75201),
    "San Antonio": ("TX", 29.42, -98.49, 1_434_625, 78205),
    "Austin": ("TX", 30.27, -97.74, 961_855, 78701),
    "El Paso": ("TX", 31.76, -106.49, 678_815, 79901),
    "Richmond": ("VA", 37.54, -77.44, 226_610, 23219),
    "Virginia Beach": ("VA", 36.85, -75.98, 459_470, 23451),
    "Seattle": ("WA", 47.61, -122.33, 737_015, 98101),
    "Spokane": ("WA", 47.66, -117.43, 228_989, 99201),
    "Milwaukee": ("WI", 43.04, -87.91, 577_222, 53202),
    "Madison": ("WI", 43.07, -89.40, 269_840, 53703),
    "Charleston": ("WV", 38.35, -81.63, 48_864, 25301),
}

_CARD_PREFIXES = ((4, 13, 0.05), (34, 15, 0.04), (37, 15, 0.06), (4, 16, 0.42), (51, 16, 0.12),
                  (55, 16, 0.1), (6011, 16, 0.06), (30, 14, 0.05), (4, 19, 0.1))
"""(prefix, number of digits, share) of generated card numbers (13-19 digits, all fit in int64)."""


def luhn_valid(number: int) -> bool:
    """Whether ``number`` passes the Luhn check that card numbers carry.

    >>> luhn_valid(4539578763621486), luhn_valid(4539578763621487)
    (True, False)
    """
    digits = [int(d) for d in str(number)][::-1]
    total = sum(digits[0::2]) + sum(sum(divmod(2 * d, 10)) for d in digits[1::2])
    return total % 10 == 0


def _card_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct Luhn-valid card numbers of 13-19 digits, as int64."""
    shares = np.array([s for _, _, s in _CARD_PREFIXES])
    kinds = rng.choice(len(_CARD_PREFIXES), size=n, p=shares / shares.sum())
    numbers = np.zeros(n, dtype=np.int64)
    for k, (prefix, length, _) in enumerate(_CARD_PREFIXES):
        rows = np.flatnonzero(kinds == k)
        body_len = length - len(str(prefix)) - 1
        body = rng.integers(0, 10, size=(len(rows), body_len))
        digits = np.concatenate([np.tile([int(c) for c in str(prefix)], (len(rows), 1)), body], axis=1)
        # Luhn: double every second digit from the right of the full number (check digit excluded here)
        doubled = digits[:, ::-1].copy()
        doubled[:, 0::2] = np.where(doubled[:, 0::2] * 2 > 9, doubled[:, 0::2] * 2 - 9, doubled[:, 0::2] * 2)
        check = (10 - doubled.sum(axis=1) % 10) % 10
        full = np.concatenate([digits, check[:, None]], axis=1)
        numbers[rows] = full @ (10 ** np.arange(length - 1, -1, -1, dtype=np.int64))
    unique, first = np.unique(numbers, return_index=True)
    if len(unique) < n:  # astronomically rare: redraw the duplicates
        dup = np.setdiff1d(np.arange(n), first)
        numbers[dup] = _card_numbers(rng, len(dup))
        return numbers if len(np.unique(numbers)) == n else _card_numbers(rng, n)
    return numbers


def _strings(parts: list[np.ndarray], sep: str = " ") -> np.ndarray:
    """Join columns of strings element-wise."""
    joined = pd.Series(parts[0]).astype(str)
    for part in parts[1:]:
        joined = joined + sep + pd.Series(part).astype(str)
    return joined.to_numpy(dtype=object)


def make_customers(rng: np.random.Generator, n: int, *, start_year: int) -> pd.DataFrame:
    """``n`` customers: card, name, address, home location, city population, job, birth date and
    profile index (into :data:`~fraudstream.worlds.sparkov_profiles.PROFILES`)."""
    band = rng.choice(3, size=n, p=AGE_BAND_SHARE)
    female = rng.random(n) < FEMALE_SHARE
    rural = rng.random(n) < AREA_SHARE[1]
    profile = band * 4 + (~female) * 2 + rural
    first = np.where(female, np.array(FEMALE_NAMES, dtype=object)[rng.integers(0, len(FEMALE_NAMES), n)],
                     np.array(MALE_NAMES, dtype=object)[rng.integers(0, len(MALE_NAMES), n)])
    last = np.array(LAST_NAMES, dtype=object)[rng.integers(0, len(LAST_NAMES), n)]
    street = _strings([rng.integers(1, 9999, n),
                       np.array(STREET_NAMES)[rng.integers(0, len(STREET_NAMES), n)],
                       np.array(STREET_SUFFIXES)[rng.integers(0, len(STREET_SUFFIXES), n)]])

    city_names = np.array(list(CITIES), dtype=object)
    city_rows = np.array(list(CITIES.values()), dtype=object)
    city_weight = np.sqrt(city_rows[:, 3].astype(float))
    pick = rng.choice(len(CITIES), size=n, p=city_weight / city_weight.sum())
    state_codes = np.array(list(STATES), dtype=object)
    state_rows = np.array(list(STATES.values()), dtype=float)
    spick = rng.choice(len(STATES), size=n, p=state_rows[:, 6] / state_rows[:, 6].sum())
    towns = np.char.replace(np.array(TOWN_NAMES)[rng.integers(0, len(TOWN_NAMES), n)], "_", " ")

    city = np.where(rural, towns.astype(object), city_names[pick])
    state = np.where(rural, state_codes[spick], city_rows[pick, 0])
    jitter = rng.uniform(-1.0, 1.0, size=(n, 2))
    lat = np.where(rural, state_rows[spick, 0] + jitter[:, 0] * state_rows[spick, 2],
                   city_rows[pick, 1].astype(float) + jitter[:, 0] * 0.08)
    lon = np.where(rural, state_rows[spick, 1] + jitter[:, 1] * state_rows[spick, 3],
                   city_rows[pick, 2].astype(float) + jitter[:, 1] * 0.08)
    rural_zip = rng.integers(state_rows[spick, 4].astype(np.int64), state_rows[spick, 5].astype(np.int64) + 1)
    zip_code = np.where(rural, rural_zip, city_rows[pick, 4].astype(np.int64) + rng.integers(0, 40, n))
    rural_pop = np.round(np.exp(rng.uniform(np.log(60), np.log(25_000), n))).astype(np.int64)
    city_pop = np.where(rural, rural_pop, city_rows[pick, 3].astype(np.int64))

    ages = np.array(AGE_RANGES)[band]
    age_days = rng.integers(ages[:, 0] * 365, (ages[:, 1] + 1) * 365 - 1)
    dob = np.datetime64(f"{start_year}-01-01") - age_days.astype("timedelta64[D]")
    return pd.DataFrame({
        "cc_num": _card_numbers(rng, n),
        "first": first,
        "last": last,
        "gender": np.where(female, "F", "M").astype(object),
        "street": street,
        "city": city,
        "state": state,
        "zip": zip_code.astype(np.int64),
        "lat": np.round(lat, 4),
        "long": np.round(lon, 4),
        "city_pop": city_pop.astype(np.int64),
        "job": np.array(JOBS, dtype=object)[rng.integers(0, len(JOBS), n)],
        "dob": np.datetime_as_string(dob, unit="D").astype(object),
        "profile": profile.astype(np.int64),
    })


def make_merchants(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """``n`` merchants named ``fraud_<Company>``, each with one category (index into
    :data:`CATEGORIES`); categories get merchants in proportion to the square root of their
    demand, at least one each when ``n >= 14``."""
    words = np.array(COMPANY_WORDS, dtype=object)
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < n:
        style = int(rng.integers(0, 4))
        a, b, c = words[rng.integers(0, len(words), 3)]
        name = (f"{a} {COMPANY_SUFFIXES[int(rng.integers(0, len(COMPANY_SUFFIXES)))]}" if style == 0
                else f"{a}-{b}" if style == 1 else f"{a}, {b} and {c}" if style == 2 else f"{a} Inc")
        if name not in seen and len({a, b, c}) == 3:
            seen.add(name)
            names.append("fraud_" + name)
    demand = np.sqrt(PROFILE_CATEGORY_WEIGHTS.mean(axis=0))
    base = min(1, n // len(CATEGORIES))
    extra = rng.choice(len(CATEGORIES), size=n - base * len(CATEGORIES), p=demand / demand.sum())
    category = np.concatenate([np.repeat(np.arange(len(CATEGORIES)), base), extra])
    rng.shuffle(category)
    return pd.DataFrame({"merchant": np.array(names, dtype=object), "category": category.astype(np.int64)})
