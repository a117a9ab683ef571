"""NCB files in, segments out: the catalog of the databases, normalisers, readers, load."""
