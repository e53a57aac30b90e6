"""Behavioural memristor devices and crossbar arrays (docs/device-models.md)."""
