"""Signed content bundles: the format the backend publishes and every kiosk verifies before applying it."""
