"""Release phase of the demo service: one row per release, to see data survive restarts."""

import asyncio
import os
import sys

import asyncpg


async def main() -> None:
    if os.environ.get("DEMO_FAIL_RELEASE"):
        print("release failed on purpose", flush=True)
        sys.exit(3)
    db = await asyncpg.connect(os.environ["DATABASE_URL"])
    await db.execute("CREATE TABLE IF NOT EXISTS releases (at timestamptz DEFAULT now())")
    await db.execute("INSERT INTO releases DEFAULT VALUES")
    print("release done", flush=True)
    await db.close()


asyncio.run(main())
