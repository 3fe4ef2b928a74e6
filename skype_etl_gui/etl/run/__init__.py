"""Run: the pipeline that drives extract, transform and load; its context; the worker process.

Nothing is imported here: the worker process imports `run.worker` and must not
load the pipeline (and with it the loaders and psycopg2).
"""
