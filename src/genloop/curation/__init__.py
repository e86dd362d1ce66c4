"""Curation and provenance: filters that keep or drop rows with reasons, the ledger of
where every sample came from, and lineage queries over it."""
