"""The embedded demo datasets: facilities and unemployed-disabled counts per county.

This module owns ``data/demo/``: ``<region>_facilities.csv``,
``<region>_unemployed_disabled.csv`` and the generated ``README.md``. It makes them from
the built county layer (``geoapp.regions.read_layer``) and the 2020 census table, with a
seeded ``numpy.random.default_rng``: the same seed gives byte-identical files.

**Every record made here is a DEMO, not real data** (``is_demo=True``, note
"演示数据 demo record"), with one exception: the three vocational schools that the Jilin
2025-2027 policy (吉政办发〔2025〕16号, clause 二(三)7) names, 长春大学特殊教育学院,
省残疾人中职学校 and 四平盲童学校 (the seed's wording), are real institutions
(``is_demo=False``, ids ``REAL-VOC-000n``). Only their city is known, so each is placed at
a seeded point inside a central urban district of its city (长春市朝阳区 220104,
四平市铁西区 220302) and its ``note`` says the location is approximate (city level only).
A real user replaces all of it with registry data.

Facilities (totals fixed for every seed, all below the 2027 targets of seed 002):

============================  ============  ===========
type                          demo total    2027 target
============================  ============  ===========
incubation_base               55            ~80
rural_help_base               73            ~120
massage_institution           262           >=400
auxiliary_institution         64            ~100
vocational_school             3 real + 4    (named schools)
beautiful_workshop            17            28
============================  ============  ===========

The seed decides where the facilities go (weighted by 2020 population, rural bases by
area) and where each point lies: a uniformly random point strictly inside the county
polygon (rejection sampling, preferring a polygon shrunk by ~0.005 degrees so the point
stays in its county on the simplified display layer too), rounded to 6 decimals, WGS84.
Massage institutions are drawn ``multinomial(262, p)`` with p proportional to population
times 1.6 (districts), 1.2 (county-level cities) or 0.6 (counties), i.e. concentrated in
urban districts and county-level cities.

Gap scenario (deliberate, the same for every seed; each affected record's ``note`` names it):

- *Mandatory county gap* (二(二)4, 各县（市）至少1个辅助性就业机构): 长白朝鲜族自治县
  (220623) and 通榆县 (220822) have no auxiliary_institution; every other county, autonomous
  county and county-level city has at least one.
- *Mandatory prefecture gap* (二(二)3, 各市（州）至少1个创业孵化基地): 辽源市 (220400) has no
  incubation_base in any of its four units; every other prefecture has at least one.
- *Empty districts*: 西安区 (220403) and 二道江区 (220503) get no facility except massage
  institutions.
- *Aspirational gaps* (seeded, listed in the README): 8 of the 39 non-district units have
  no rural_help_base; 11 further units have no incubation_base.

Unemployed disabled people per county, a DEMO ESTIMATE (there are no public per-county
counts): ``pop2020 x 6.34 % x 60 % x 8 % x m``, i.e. 7th-census population 2020 x
disability prevalence 6.34 % (2006 2nd National Sample Survey on Disability) x share of
working age 60 % x share unemployed and registered about 8 %, times a seeded multiplier
``m ~ U[0.8, 1.25]`` per county, rounded to an integer. The five development-zone rows of
the population table (2201 7x, 220871) are not legal counties and are ignored; their
residents live inside legal districts, which are therefore underestimated here.
"""

from geoapp.demo.constants import (
    AS_OF,
    AUX_GAP_ADCODES,
    DEMO_NOTE,
    EMPTY_DISTRICTS,
    FACILITY_TYPES,
    INCUBATION_GAP_PREFECTURE,
    REAL_SCHOOLS,
    TARGETS_2027,
)
from geoapp.demo.facilities_gen import make_facilities
from geoapp.demo.inputs import load_population
from geoapp.demo.output import (
    facilities_csv,
    gap_report,
    render_demo,
    summary,
    unemployed_csv,
    write_demo,
)
from geoapp.demo.unemployed import make_unemployed
from geoapp.schema import FACILITY_COLUMNS, UNEMPLOYED_COLUMNS

__all__ = [
    "AS_OF",
    "AUX_GAP_ADCODES",
    "DEMO_NOTE",
    "EMPTY_DISTRICTS",
    "FACILITY_COLUMNS",
    "FACILITY_TYPES",
    "INCUBATION_GAP_PREFECTURE",
    "REAL_SCHOOLS",
    "TARGETS_2027",
    "UNEMPLOYED_COLUMNS",
    "facilities_csv",
    "gap_report",
    "load_population",
    "make_facilities",
    "make_unemployed",
    "render_demo",
    "summary",
    "unemployed_csv",
    "write_demo",
]
