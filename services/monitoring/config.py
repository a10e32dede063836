from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MONITORING_", extra="ignore")

    service_name: str = "monitoring"
    # Rows per COPY and per progress update: large enough to amortise round trips, small enough for constant memory.
    feed_chunk_rows: int = 20_000
    # Rows of a feed's error report kept (the first ones); the rest are counted. A file of a million bad rows is
    # wrong as a whole: its first thousand errors say how, and the report stays a report.
    feed_max_errors: int = Field(default=1000, ge=1)
    region_data_dir: str | None = None  # default: the division tables shipped in shared/data/regions
