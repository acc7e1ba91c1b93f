"""GeoJSON of outfalls, towns and water bodies for the map and for other software."""
