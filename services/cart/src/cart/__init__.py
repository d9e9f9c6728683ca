"""Mosaic cart: a cart per visitor or signed-in user, merged on sign-in.

Lines hold product ids and quantities only; prices are catalog's, read at display time.
"""
