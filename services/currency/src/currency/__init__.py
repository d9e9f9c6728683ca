"""Mosaic currency: supported currencies and conversion from ECB reference rates."""
