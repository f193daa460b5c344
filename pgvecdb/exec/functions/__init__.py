"""SQL functions installed into DuckDB: pgvector's types, operators, functions and casts
(``pgvector``, with kernels in ``dense``, ``sparse`` and ``bitstring``)."""
