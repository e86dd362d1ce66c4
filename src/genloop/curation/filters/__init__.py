"""Curation filters. Each is a small class with ``keep(batch) -> (mask, reasons)``; see
:mod:`genloop.curation.filters.base` for the contract and the pipeline that runs them."""
