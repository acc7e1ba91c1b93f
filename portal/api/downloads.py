"""Downloads of the registry: CSV (UTF-8 with BOM, Chinese headers) and XLSX, streamed."""
