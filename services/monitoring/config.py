from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MONITORING_", extra="ignore")

    service_name: str = "monitoring"
    # Rows per COPY and per progress update: large enough to amortise round trips, small enough for constant memory.
    feed_chunk_rows: int = 20_000
    region_data_dir: str | None = None  # default: the division tables shipped in shared/data/regions
