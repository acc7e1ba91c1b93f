"""River-chief boards (河长公示): /rivers/<id>."""
