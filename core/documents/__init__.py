"""Documents a customer or supplier receives: PDFs rendered from Django templates, archived
when final, e-mailed with an outbound log (docs/architecture.md "Documents").

Core knows no document: each owning app registers its document types (`registry.register`)
in its AppConfig.ready with a function that builds the template context from an object id.
"""
