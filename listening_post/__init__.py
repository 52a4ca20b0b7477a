"""The `listening-post` command and the demo.

They compose the worker (``listener``) and the web app (``queue_ui``), so they sit above both:
``listening_post -> queue_ui -> listener -> {connectors, triage}``.
"""
