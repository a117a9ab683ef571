"""Synthetic records for the databases beyond SLTD and TDAWN, one module per family.

Each module's generators take ``(records, seed, today)`` and yield column chunks, like
loaders/generate.py's; loaders/generate.py registers them. Values are what an NCB would
upload: real makes and models, identifiers with valid check digits, typed the way clerks
type them now and then.
"""
