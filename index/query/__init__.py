"""Query understanding: parsing (years, change-over-time intent, phrases), the acronym
glossary, the per-period rule, and `prepare_query`, which readies a question once for
every caller."""
