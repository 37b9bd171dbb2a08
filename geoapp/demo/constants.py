"""The fixed inputs of the demo data: totals, the gap scenario, the name pools."""

from __future__ import annotations

from geoapp import facilities as _facilities
from geoapp.schema import DEMO_AS_OF

# The demo data takes the data of record's schema; it does not define its own.
FACILITY_TYPES = _facilities.FACILITY_TYPES
#: The quarter the demo registers pretend to describe (shown as the data date).
AS_OF = DEMO_AS_OF

#: Province-wide 2027 targets of 吉政办发〔2025〕16号 (seed 002); the demo stays below them.
TARGETS_2027 = {
    "incubation_base": 80,
    "auxiliary_institution": 100,
    "rural_help_base": 120,
    "massage_institution": 400,
    "beautiful_workshop": 28,
}

#: Demo totals per type (vocational_school: demo schools only, the real ones come on top).
DEMO_TOTALS = {
    "incubation_base": 55,
    "rural_help_base": 73,
    "massage_institution": 262,
    "auxiliary_institution": 64,
    "vocational_school": 4,
    "beautiful_workshop": 17,
}

_ID_CODES = {
    "incubation_base": "INC",
    "rural_help_base": "RUR",
    "massage_institution": "MAS",
    "auxiliary_institution": "AUX",
    "vocational_school": "VOC",
    "beautiful_workshop": "BWS",
}

#: The mandatory county gap of the demo: non-district units without auxiliary_institution.
AUX_GAP_ADCODES = {"220623": "长白朝鲜族自治县", "220822": "通榆县"}
#: The mandatory prefecture gap of the demo: a prefecture without incubation_base.
INCUBATION_GAP_PREFECTURE = ("220400", "辽源市")
#: Districts that get no facility but massage institutions.
EMPTY_DISTRICTS = {"220403": "西安区", "220503": "二道江区"}

#: The three real schools named in seed 002 clause 二(三)7: (name, subtype, city, district adcode).
REAL_SCHOOLS = (
    ("长春大学特殊教育学院", "高等院校", "长春市", "220104"),
    ("省残疾人中职学校", "中等职业学校", "长春市", "220104"),
    ("四平盲童学校", "盲校", "四平市", "220302"),
)

POPULATION_TABLES = {"220000": "jilin_county_population_2020.csv"}

DEMO_NOTE = "演示数据 demo record"
PREVALENCE = 0.0634
WORKING_AGE_SHARE = 0.60
UNEMPLOYED_SHARE = 0.08
MULTIPLIER_RANGE = (0.8, 1.25)
METHOD = (
    "演示估算 demo estimate: pop2020 x 6.34% (2006年第二次全国残疾人抽样调查患病率) "
    "x 60% working age x 8% unemployed/registered x seeded U[0.8,1.25]"
)

_NON_DISTRICT = ("county", "autonomous_county", "county_level_city")
_MASSAGE_KIND_FACTOR = {
    "district": 1.6,
    "county_level_city": 1.2,
    "county": 0.6,
    "autonomous_county": 0.6,
}
_SHRINK_DEG = 0.005
_RURAL_DISTRICT_MIN_KM2 = 1000.0
_RURAL_DISTRICTS = 6

# Name material (invented words, no real institution is meant).
_BRANDS = (
    "康宁",
    "明心",
    "仁和",
    "益康",
    "同心",
    "德馨",
    "春晖",
    "福泽",
    "安康",
    "惠民",
    "松鹤",
    "长青",
    "瑞祥",
    "济仁",
    "和顺",
    "妙手",
    "顺安",
    "泰和",
    "颐和",
    "康乐",
    "天佑",
    "怡心",
    "正源",
    "健民",
    "博爱",
    "融情",
    "善德",
    "民康",
    "乐康",
    "百福",
    "金泽",
    "嘉和",
    "祥瑞",
    "凯康",
    "宏福",
    "惠康",
    "信和",
    "永康",
    "健安",
    "盛康",
)
_AGRI = (
    "兴农",
    "丰收",
    "绿源",
    "金穗",
    "黑土地",
    "稻花香",
    "富民",
    "长丰",
    "沃野",
    "禾润",
    "鑫源",
    "万顺",
    "嘉禾",
    "宏达",
    "众旺",
    "青山",
    "田园",
    "福满",
    "瑞丰",
    "益农",
)
_RURAL_HOSTS = (
    ("农民专业合作社", "种植专业合作社"),
    ("农民专业合作社", "养殖专业合作社"),
    ("家庭农场", "家庭农场"),
    ("龙头企业", "农业发展有限公司"),
)
_AUX_HOSTS = (
    ("依托阳光家园", "{c}阳光家园辅助性就业机构"),
    ("依托残疾人之家", "{c}残疾人之家辅助性就业机构"),
    ("依托托养机构", "{c}残疾人托养中心辅助性就业机构"),
    ("依托康复机构", "{c}残疾人康复中心辅助性就业机构"),
)
_COMMUNITIES = (
    "幸福",
    "和谐",
    "朝阳",
    "东风",
    "建设",
    "光明",
    "新华",
    "文化",
    "团结",
    "繁荣",
    "民主",
    "胜利",
    "育才",
    "青年",
    "兴华",
    "站前",
)
_WORKSHOP_KINDS = ("手工编织", "刺绣", "服装加工", "电商直播", "农产品加工", "串珠工艺", "剪纸")
_ROADS = (
    "人民大街",
    "解放路",
    "建设街",
    "胜利路",
    "新华路",
    "文化路",
    "和平街",
    "长江路",
    "东风大街",
    "光明路",
    "友谊路",
    "民主街",
    "兴华路",
    "繁荣路",
    "幸福街",
    "团结路",
    "青年路",
    "工农路",
    "站前街",
    "育才路",
)
_TOWNS = (
    "新立",
    "前进",
    "太平",
    "永安",
    "长胜",
    "兴隆",
    "红旗",
    "东升",
    "双河",
    "三合",
    "大兴",
    "福安",
    "合心",
    "平安",
    "永丰",
)
_VILLAGES = (
    "靠山",
    "二道沟",
    "三家子",
    "五棵树",
    "六家子",
    "王家屯",
    "腰屯",
    "东岗",
    "西岭",
    "南沟",
    "北甸子",
    "前进",
    "红星",
    "向阳",
)
