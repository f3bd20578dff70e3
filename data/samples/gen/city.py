"""The fictional city 江州市: districts and counties, their streets, towns, villages and landmarks, and name pools.

Every place and person here is invented for the sample data. The data is in ``banks/city.json``:

- ``DISTRICTS``: per district id, its name, its kind and its places. "urban" districts have 街道/社区; "rural" ones
  have 镇/乡 and 村 (a few urban districts have some too). ``villages`` are (town, village) pairs.
- ``CITY_PLACES``: places that belong to the city as a whole.
- ``SURNAMES``, ``GIVEN_1`` (two-character given names, back to back), ``GIVEN_2`` (single characters): name pools.
- ``PARTY_GROUPS``, ``SECTORS``: the party groups and 界别 that submit 提案.
- ``DISTRICT_PROFILE``: how local proposals describe each district (one may open a local item).
"""

from __future__ import annotations

from .bank import read_json

_DATA = read_json("city.json")
CITY = _DATA["CITY"]
DISTRICTS = _DATA["DISTRICTS"]
for _d in DISTRICTS.values():
    _d["villages"] = [tuple(v) for v in _d["villages"]]
CITY_PLACES = _DATA["CITY_PLACES"]
SURNAMES = _DATA["SURNAMES"]
GIVEN_1 = _DATA["GIVEN_1"]
GIVEN_2 = _DATA["GIVEN_2"]
PARTY_GROUPS = _DATA["PARTY_GROUPS"]
SECTORS = _DATA["SECTORS"]
DISTRICT_PROFILE = _DATA["DISTRICT_PROFILE"]
