"""Thin Prefect task wrappers around the newsroom library: fetch key -> call newsroom -> store -> return key."""
