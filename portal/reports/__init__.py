"""Citizen reports, the domain: intake, tracking, the reporter's privacy. No blueprint lives here
(the web side is ``portal.citizen``)."""
