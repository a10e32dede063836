from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from shared.sealing import SealingSettings
from shared.settings import ServiceSettings


class Settings(ServiceSettings, SealingSettings):
    model_config = SettingsConfigDict(env_prefix="PAYMENTS_", extra="ignore")

    service_name: str = "payments"
    # Beneficiaries per committed step of a batch build: big enough to keep PostgreSQL busy, small enough that
    # progress moves and a killed worker redoes little.
    batch_chunk_size: int = Field(default=50_000, ge=1)
    batch_poll_seconds: float = Field(default=0.5, gt=0)
    # 扣回: a regular batch withholds at most this percentage of each line (each person and month it pays) to recover
    # the person's open overpayments, oldest month first; 0 recovers nothing by deduction. Neither the national rules
    # nor the seeded policy give a cap, so the county sets it; below 100 a line never comes to nothing. A batch keeps
    # the share in force when it was requested.
    recovery_percent: int = Field(default=50, ge=0, le=99)

    @model_validator(mode="after")
    def _refuse_dev_sealing_key(self) -> "Settings":
        if self.environment in ("staging", "production") and self.insecure_sealing():
            raise ValueError(f"insecure development defaults refused in {self.environment}: sealing_keys")
        return self
