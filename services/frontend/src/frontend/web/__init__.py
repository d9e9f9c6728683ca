"""What every page stands on: sessions, forms and CSRF, rendering, error pages, assets,
security headers, and who is looking (the viewer, whose cart)."""
