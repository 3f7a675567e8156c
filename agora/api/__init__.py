"""The JSON API, versioned."""
