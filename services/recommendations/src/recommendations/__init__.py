"""Mosaic recommendations: "you may also like" for a product or a cart, from catalog data."""
