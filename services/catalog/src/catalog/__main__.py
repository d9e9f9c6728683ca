"""`python -m catalog`: the web process (see the Procfile)."""

from chassis import serve

from catalog.app import create_catalog_app

if __name__ == "__main__":
    serve(create_catalog_app)
