from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from shared.sealing import SealingSettings
from shared.settings import ServiceSettings


class Settings(ServiceSettings, SealingSettings):
    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore")

    service_name: str = "intake"
    # Evidence files (证明材料) are kept in PostgreSQL with their rows (applications/evidence_store.py).
    evidence_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    # Region codes: the shipped NBS tables (all of China down to townships, incl. 吴起县 610626) unless
    # INTAKE_REGIONS_DIR names another directory in the same format; INTAKE_VILLAGES_FILE adds village names
    # (code,name,townshipCode) on top without copying the national tables.
    regions_dir: Path | None = None
    villages_file: Path | None = None
    # 存量对象导入 (roll import): the largest file accepted, the households per committed chunk of its jobs, and
    # where eligibility's POST /assessments prices the rows (the caller's own bearer token goes with it).
    roll_import_max_bytes: int = Field(default=512 * 1024 * 1024, ge=1)
    roll_import_chunk: int = Field(default=1000, ge=1, le=1000)
    roll_import_poll_seconds: float = Field(default=5.0, gt=0)
    # The staged rows (sealed ID numbers and accounts of a whole roll), households and report lines of an import
    # are kept this many days after its last change, then deleted by the worker; the import itself (its counts,
    # its SHA-256: the same file is still recognised) stays. Personal data kept no longer than the import needs.
    roll_import_retention_days: int = Field(default=30, ge=1)
    eligibility_url: str = "http://localhost:8002"
    # sealing_keys / sealing_key_id (INTAKE_SEALING_KEYS, INTAKE_SEALING_KEY_ID): seal the payee's bank account in
    # the payee.changed event; payments holds the same keys to open it while writing a bank file.

    @model_validator(mode="after")
    def _refuse_dev_sealing_key(self) -> "Settings":
        if self.environment in ("staging", "production") and self.insecure_sealing():
            raise ValueError(f"insecure development defaults refused in {self.environment}: sealing_keys")
        return self
