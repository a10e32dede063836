"""a feed is the same file from the same partner for the same region: the unique key takes the feed's region

Revision ID: monitoring_feed_key_region
Revises: monitoring_feed_errors_index
"""

from collections.abc import Sequence

from alembic import op

revision: str = "monitoring_feed_key_region"
down_revision: str | None = "monitoring_feed_errors_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Keyed on (partner, sha256) alone, the same bytes posted for another region (a province's 公安 loading a file for
# 610625 then 610626, or two counties' 公安 sending the same file) answered with the first region's feed and never
# loaded the second region's rows. The key becomes (partner, region_code, sha256). Existing rows already satisfy
# it (they are unique on the narrower key), so nothing is rewritten. The old key goes back only if no file was
# loaded for two regions since; otherwise the downgrade fails on the duplicates and says which constraint.


def upgrade() -> None:
    op.create_unique_constraint(
        "uq_feeds_partner_region_code_sha256", "feeds", ["partner", "region_code", "sha256"], schema="monitoring"
    )
    op.drop_constraint("uq_feeds_partner_sha256", "feeds", schema="monitoring", type_="unique")


def downgrade() -> None:
    op.create_unique_constraint("uq_feeds_partner_sha256", "feeds", ["partner", "sha256"], schema="monitoring")
    op.drop_constraint("uq_feeds_partner_region_code_sha256", "feeds", schema="monitoring", type_="unique")
