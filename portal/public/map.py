"""The public map at /: clustered outfalls, filters, legend, outfalls near me."""
