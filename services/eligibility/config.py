from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ELIGIBILITY_", extra="ignore")

    service_name: str = "eligibility"
    # Payments' API (e.g. http://payments:8003): the what-if (试算) asks it what holds money for the months a
    # proposed value changes, so it can tell the balances the next batch would pay. Unset: the what-if reports what
    # is owed only (`balances_from_payments` false).
    payments_url: str | None = None
    payments_timeout_seconds: float = 30.0
    # Intake's API (e.g. http://intake:8000): a review (定期核查) asks it the household's current version when the
    # official did not say which one they saw, and waits (409) while the facts of that version are on their way.
    # Unset: nothing is asked (the review prices the facts held, or refuses those older than a version it is told).
    intake_url: str | None = None
    intake_timeout_seconds: float = 10.0
    # 提标重算: cases re-priced per committed step, and how often the worker looks for a queued recompute.
    recompute_chunk_size: int = Field(default=2000, ge=1)
    recompute_poll_seconds: float = Field(default=1.0, gt=0)
