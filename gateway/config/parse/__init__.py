"""Parsers from YAML/JSON objects to the model, one module per group of messages."""
