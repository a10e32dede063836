"""Eligibility (审核确认): dated regional policy as code, and the case workflow to the county decision."""
