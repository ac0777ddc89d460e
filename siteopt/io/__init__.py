"""The instance format and files: schema, reading tables, writing folders atomically, importers."""
