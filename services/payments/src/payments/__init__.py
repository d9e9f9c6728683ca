"""Mosaic payments: card charges and refunds as an idempotent, append-only ledger.

A simulated card processor answers by test card (in the manner of Stripe's test cards);
only the card's brand and last four digits are ever stored, and the number is never logged.
"""
