"""Mosaic orders: checkout as a saga, order history, events through a transactional outbox."""
