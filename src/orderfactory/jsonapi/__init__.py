"""The JSON:API engine in the Commerce Layer dialect. It knows nothing of orders."""
