"""Signboards (一口一码): QR codes of outfall pages, printable A4 signboards, bulk print per town."""
