"""What the front desk reads about region codes, and the answer to a village load."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

CODE_RULE = (
    "A household's region_code is its village (村级) code, 12 digits: the 9-digit township (乡镇/街道) code followed "
    "by 3 digits, 001-199 for a residents' committee (居民委员会) and 200-399 for a villagers' committee "
    "(村民委员会), as in the statistics bureau's 统计用区划代码 table. Once the county has loaded its villages "
    "(PUT /regions/{county}/villages), only the codes listed under the township are accepted."
)

Level = Literal["province", "prefecture", "county", "township", "village"]
LEVELS: tuple[Level, ...] = ("province", "prefecture", "county", "township", "village")


class RegionOut(BaseModel):
    code: str
    name: str
    level: Level
    parent_code: str | None
    urban_rural_class: str | None = Field(None, description="villages: 城乡分类代码 (111 主城区 … 220 村庄)")
    villages_loaded: bool | None = Field(
        None,
        description="townships: whether the county loaded its village list; until then any code that "
        "follows the 12-digit rule is accepted",
    )
    note: str | None = Field(None, description="townships without a village list: how to form a village code")
    children: list[RegionOut] = Field(
        description="direct subdivisions: townships of a county, villages of a township, …"
    )


class VillagesLoadedOut(BaseModel):
    county_code: str
    villages: int
    townships: dict[str, int] = Field(description="villages loaded per township code")
