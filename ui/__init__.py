"""The web front ends of ``qa``: a Gradio chat page and an HTTP JSON API in one FastAPI process.

Only the public API of ``qa`` is used. ``ui.server.create_app(settings)`` builds the app;
``ui.server.serve(settings)`` runs it (what ``qa serve`` does). Importing ``ui`` alone loads
nothing heavy; ``ui.server`` imports Gradio.
"""
