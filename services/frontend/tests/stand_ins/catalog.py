"""A stand-in catalog: its /v1 contract for the frontend over in-memory products."""

import asyncio
import hashlib
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from chassis.stand_ins import StandIn, problem

CATEGORIES = [
    {"slug": "coffee", "name": "Coffee", "description": "Brewers, grinders and cups."},
    {"slug": "kitchen", "name": "Kitchen", "description": "Tools for everyday cooking."},
    {"slug": "tea", "name": "Tea", "description": "Pots, cups & <b>leaves</b>."},
]


def _product(pid: str, name: str, category: str, amount: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": pid,
        "name": name,
        "description": extra.pop("description", f"A fine {name.lower()}."),
        "category": category,
        "price": {"amount": amount, "currency": extra.pop("currency", "USD")},
        "picture": f"/v1/pictures/{pid}.svg",
        "tags": extra.pop("tags", []),
    }


def _products() -> list[dict[str, Any]]:
    products = [
        _product(
            "ceramic-pour-over",
            "Ceramic Pour-Over",
            "coffee",
            2400,
            description="Hand-thrown stoneware dripper.\n\nFits most mugs.",
            tags=["ceramic", "brewing"],
        ),
        _product("chef-knife", "Chef's Knife", "kitchen", 8900, tags=["steel"]),
        _product("matcha-whisk", "Matcha Whisk", "tea", 1850, tags=["bamboo"]),
        # Untrusted text from catalog must come out escaped, never as markup.
        _product(
            "tricky-mug",
            "Mug <script>alert(1)</script>",
            "kitchen",
            1200,
            description='<img src=x onerror="alert(1)"> A mug.',
        ),
    ]
    # Enough coffee products for two pages of 24.
    products += [
        _product(f"coffee-beans-{n}", f"Coffee Beans No. {n}", "coffee", 1000 + n)
        for n in range(1, 27)
    ]
    return products


def _svg(pid: str) -> bytes:
    return f'<svg xmlns="http://www.w3.org/2000/svg"><title>{pid}</title></svg>'.encode()


@dataclass
class FakeCatalog(StandIn):
    """Catalog as the frontend sees it; tests turn its knobs to simulate trouble."""

    products: list[dict[str, Any]] = field(default_factory=_products)
    delay: float = 0.0  # seconds before every answer
    fail_with: int | None = None  # answer every call with this status
    calls: list[str] = field(default_factory=list)
    cancel_abandoned = True  # "slow catalog" tests

    def application(self) -> web.Application:
        app = web.Application(middlewares=[self._trouble])
        app.router.add_get("/v1/categories", self._categories)
        app.router.add_get("/v1/products", self._list)
        app.router.add_get("/v1/products/{pid}", self._one)
        app.router.add_get("/v1/search", self._search)
        app.router.add_get("/v1/pictures/{pid}.svg", self._picture)
        return app

    @web.middleware
    async def _trouble(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.calls.append(request.path_qs)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail_with is not None:
            return problem(self.fail_with, "internal", "simulated failure")
        response: web.StreamResponse = await handler(request)
        return response

    async def _categories(self, _: web.Request) -> web.Response:
        items = [
            {**c, "product_count": sum(p["category"] == c["slug"] for p in self.products)}
            for c in CATEGORIES
        ]
        return web.json_response({"items": items})

    async def _list(self, request: web.Request) -> web.Response:
        category = request.query.get("category")
        if category is not None and category not in {c["slug"] for c in CATEGORIES}:
            return problem(404, "category-not-found", f"no category {category}")
        found = [p for p in self.products if category is None or p["category"] == category]
        return _paged(request, found)

    async def _one(self, request: web.Request) -> web.Response:
        pid = request.match_info["pid"]
        for product in self.products:
            if product["id"] == pid:
                return web.json_response(product)
        return problem(404, "product-not-found", f"no product {pid}")

    async def _search(self, request: web.Request) -> web.Response:
        words = request.query.get("q", "").lower().split()
        found = [
            p
            for p in self.products
            if words and all(w in f"{p['name']} {' '.join(p['tags'])}".lower() for w in words)
        ]
        return _paged(request, found)

    async def _picture(self, request: web.Request) -> web.Response:
        pid = request.match_info["pid"]
        if pid not in {p["id"] for p in self.products}:
            return problem(404, "picture-not-found", "no picture")
        body = _svg(pid)
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        headers = {"ETag": etag, "Cache-Control": "public, max-age=86400, immutable"}
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, content_type="image/svg+xml", headers=headers)


def _paged(request: web.Request, found: list[dict[str, Any]]) -> web.Response:
    page = int(request.query.get("page", "1"))
    size = int(request.query.get("page_size", "24"))
    items = found[(page - 1) * size : page * size]
    return web.json_response({"items": items, "page": page, "page_size": size, "total": len(found)})
