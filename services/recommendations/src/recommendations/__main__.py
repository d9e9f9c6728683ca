"""`python -m recommendations`: the web process (see the Procfile)."""

from chassis import serve

from recommendations.app import create_recommendations_app

if __name__ == "__main__":
    serve(create_recommendations_app)
