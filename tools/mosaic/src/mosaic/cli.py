def main() -> None:
    raise SystemExit("mosaic: not built yet")
