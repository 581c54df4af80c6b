"""The global BrickLink catalog: parts, colors, categories, price guides, and their freshness."""
