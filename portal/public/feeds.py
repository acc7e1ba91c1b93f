"""/feed.atom: outfall status changes as an Atom feed."""
