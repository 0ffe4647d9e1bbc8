"""petatps web layer: the Flask app (``create_app``) and the ``petatps`` CLI."""
