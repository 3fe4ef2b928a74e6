"""Presenters: what each window does, without widgets; tested on their own."""
