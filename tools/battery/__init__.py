"""Adversarial battery for pinnbilo: ``python tools/battery/run.py`` (see README.md)."""
