"""Monitoring (动态监测): partner data feeds, risk rules and alerts until a township verifies them."""
