"""Monitoring (监测): which standard judges what, the sections of receiving waters, the labs' files."""
