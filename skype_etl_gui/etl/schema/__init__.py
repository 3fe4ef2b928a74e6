"""Versioned DDL for both databases; each loader applies the steps it has not seen yet."""

SCHEMA_VERSION = 1
