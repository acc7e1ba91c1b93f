"""The browser's security headers and the session cookie's flags, in one documented place.

Every response says what a browser may do with it:

- ``Content-Security-Policy``: scripts, styles, fonts and requests only from the portal itself (no
  inline script: the templates load external files and pass data in ``<script type="application/json">``
  blocks, which are not executed); images also from the basemap tile servers the portal can be
  configured with (OpenStreetMap, 天地图) and ``data:``/``blob:`` for the photo previews drawn in the
  browser; no plug-ins; forms post only to the portal; no page may be framed (``frame-ancestors 'none'``,
  and ``X-Frame-Options: DENY`` for older browsers).
- ``X-Content-Type-Options: nosniff``: an uploaded or served file is never run as something else.
- ``Referrer-Policy: strict-origin-when-cross-origin``, unless the view chose a stricter one (the
  reporter's private pages send ``no-referrer`` so their secret address never leaves in a Referer).
- ``Permissions-Policy``: the location (the map's "near me", the report form) only for the portal's own
  pages; no camera or microphone through the page (photos are chosen with the file picker).
- ``Strict-Transport-Security`` only when ``SESSION_COOKIE_SECURE`` is on and the request came over
  HTTPS: whether the portal is reached over HTTPS is the deployment's decision (a TLS proxy in front),
  so the portal never redirects to HTTPS itself.

The session cookie is always ``SameSite=Lax`` and ``HttpOnly``; ``Secure`` follows the
``SESSION_COOKIE_SECURE`` setting (True behind HTTPS).
"""
from __future__ import annotations

from flask import Flask, current_app, request

# Tile servers of the basemaps portal.public.map can draw (BASEMAP = "osm" or "tianditu").
BASEMAP_TILE_SOURCES = (
    "https://tile.openstreetmap.org",
    "https://*.tile.openstreetmap.org",
    "https://*.tianditu.gov.cn",
)

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob: " + " ".join(BASEMAP_TILE_SOURCES),
    "font-src 'self'",
    "connect-src 'self'",
    "media-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))

PERMISSIONS_POLICY = "geolocation=(self), camera=(), microphone=(), payment=(), usb=(), browsing-topics=()"
HSTS = "max-age=31536000"


def add_security_headers(response):
    """Give a response the portal's security headers, keeping any a view set more strictly itself."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
    if current_app.config["SESSION_COOKIE_SECURE"] and request.is_secure:
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def init_app(app: Flask) -> None:
    """Send the security headers on every response and harden the session cookie."""
    # SameSite=Lax: the cookie is not sent with another site's POST (a second guard beside CSRF tokens)
    # but still with a plain link into the portal, so a shared link keeps the visitor's language.
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.after_request(add_security_headers)
