"""Payments (资金发放): the beneficiary roll and monthly disbursement."""
