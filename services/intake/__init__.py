"""Intake (受理): the township front desk's API for households, applications and evidence."""
