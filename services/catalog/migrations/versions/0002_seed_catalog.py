"""The shop's first catalog: six categories, thirty products.

Revision ID: 0002
Revises: 0001

The data lives here, frozen, rather than imported from the application: a migration must
mean the same thing whenever it runs, whatever the code looks like by then.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CATEGORIES = [
    ("kitchen", "Kitchen", "Tools for cooking and coffee that get better with every use."),
    ("home", "Home", "Quiet, useful things for the rooms you live in."),
    ("outdoor", "Outdoor", "Sturdy gear for trails, campsites and long afternoons outside."),
    ("stationery", "Stationery", "Pens, paper and pencils for people who still write by hand."),
    ("tech", "Audio & Tech", "Sound and desk accessories made to outlast the next upgrade."),
    ("apparel", "Apparel", "Everyday clothes in natural fibres, cut to be worn for years."),
]

# (id, category, name, price in cents, tags, description)
PRODUCTS = [
    ("ceramic-pour-over", "kitchen", "Ceramic Pour-Over Dripper", 2400,
     ["coffee", "pour-over", "ceramic", "brewing"],
     "A hand-glazed porcelain cone with spiral ribs that keep the filter off the wall, so "
     "water draws evenly through the grounds. Fits size 02 filters and brews one to four "
     "cups straight into a mug or server."),
    ("gooseneck-kettle", "kitchen", "Gooseneck Kettle", 6800,
     ["coffee", "tea", "kettle", "stainless-steel"],
     "A matte black stainless steel kettle with a slim gooseneck spout for a slow, steady "
     "pour. Works on gas, electric and induction hobs, and the walnut handle stays cool."),
    ("stoneware-mug", "kitchen", "Stoneware Mug", 1800,
     ["mug", "coffee", "tea", "ceramic", "handmade"],
     "A generous 350 ml mug, wheel-thrown and half-dipped in a deep blue glaze over speckled "
     "clay. Dishwasher and microwave safe."),
    ("cast-iron-skillet", "kitchen", "Cast Iron Skillet", 4500,
     ["cookware", "cast-iron", "frying-pan"],
     "A 26 cm skillet cast in one piece and pre-seasoned with flaxseed oil. It sears, bakes "
     "and fries, and its natural non-stick surface improves every time you cook."),
    ("walnut-cutting-board", "kitchen", "Walnut Cutting Board", 5200,
     ["chopping-board", "walnut", "wood", "serving"],
     "Cut from a single slab of American black walnut and finished with food-safe oil. Gentle "
     "on knife edges, handsome enough to serve cheese on, with a hole for hanging."),
    ("chefs-knife", "kitchen", "Chef's Knife", 8900,
     ["knife", "cutlery", "steel"],
     "An eight-inch knife forged from high-carbon stainless steel, with a full tang and a "
     "riveted handle. Balanced for a rocking cut and sharp enough to glide through a ripe "
     "tomato."),
    ("bud-vase", "home", "Ceramic Bud Vase", 2200,
     ["vase", "ceramic", "flowers", "decor"],
     "A small matte vase with hand-painted blue bands, sized for a single stem or a few dried "
     "grasses. Each one is thrown by hand, so no two are quite alike."),
    ("soy-candle", "home", "Soy Wax Candle", 1600,
     ["candle", "scent", "gift"],
     "Hand-poured soy wax with a cotton wick in a reusable amber glass jar. Scented with "
     "cedar, fig and a little woodsmoke; burns for about 45 hours."),
    ("wool-throw", "home", "Wool Throw Blanket", 9800,
     ["blanket", "wool", "throw", "textiles"],
     "A heavy lambswool throw woven in a rust and oat check and finished with a knotted "
     "fringe. Warm enough for winter evenings, light enough to carry into the garden."),
    ("table-lamp", "home", "Linen Shade Table Lamp", 7400,
     ["lamp", "lighting", "ceramic", "linen"],
     "A slate-blue glazed ceramic base under a natural linen shade that softens the light. "
     "Takes an E27 bulb and comes with a braided fabric cord."),
    ("terracotta-planter", "home", "Terracotta Planter", 2600,
     ["planter", "plants", "terracotta", "garden"],
     "An unglazed terracotta pot, 18 cm across, with a drainage hole and a matching saucer. "
     "The porous clay lets roots breathe and forgives the odd overwatering."),
    ("enamel-camp-mug", "outdoor", "Enamel Camp Mug", 1400,
     ["mug", "camping", "enamel", "coffee"],
     "A steel mug with a chip-resistant enamel coat and a rolled blue rim. Light enough for "
     "a pack and happy to sit on a camp stove."),
    ("canvas-rucksack", "outdoor", "Waxed Canvas Rucksack", 12800,
     ["backpack", "bag", "canvas", "hiking", "travel"],
     "A 22-litre rucksack in waxed cotton canvas with leather straps and solid brass "
     "buckles. It shrugs off rain, has a padded laptop sleeve, and wears in beautifully."),
    ("camp-lantern", "outdoor", "Rechargeable Camp Lantern", 3900,
     ["lantern", "camping", "light", "usb-c"],
     "A warm, dimmable LED lantern that runs for 30 hours on one USB-C charge. The fold-down "
     "handle hangs from a tent loop or a branch."),
    ("insulated-bottle", "outdoor", "Insulated Water Bottle", 3200,
     ["bottle", "water", "stainless-steel", "hiking"],
     "A double-walled stainless steel bottle that keeps drinks cold for 24 hours or hot for "
     "12. Holds 750 ml, fits a car cup holder and closes with a leak-proof loop cap."),
    ("brass-compass", "outdoor", "Brass Pocket Compass", 2800,
     ["compass", "navigation", "brass", "hiking"],
     "A solid brass compass with a liquid-damped needle that settles quickly and points "
     "true. Small enough for a pocket, reliable enough for the hills."),
    ("fountain-pen", "stationery", "Fountain Pen", 4800,
     ["pen", "fountain-pen", "writing", "ink"],
     "A navy resin fountain pen with a gold-plated medium steel nib. Takes standard ink "
     "cartridges or the included converter for bottled ink."),
    ("dot-grid-notebook", "stationery", "Dot-Grid Notebook", 1500,
     ["notebook", "paper", "journal", "writing"],
     "An A5 notebook with 192 numbered pages of 100 gsm paper that takes fountain pen ink "
     "without bleeding through. Lies flat, with a ribbon marker."),
    ("pencil-set", "stationery", "Cedar Pencil Set", 900,
     ["pencil", "writing", "drawing", "wood"],
     "Three HB pencils in incense cedar with soft erasers, sharpened and ready for the "
     "margins of a good book."),
    ("ink-bottle", "stationery", "Bottled Ink", 1400,
     ["ink", "fountain-pen", "writing"],
     "50 ml of deep blue ink that flows smoothly and dries quickly in any fountain pen. The "
     "wide glass bottle is easy to fill from, down to the last drop."),
    ("over-ear-headphones", "tech", "Over-Ear Headphones", 14900,
     ["headphones", "audio", "wireless", "bluetooth"],
     "Closed-back wireless headphones with memory-foam cushions and 40 hours of battery. "
     "They fold flat, pair with two devices at once and still take a cable."),
    ("walnut-phone-stand", "tech", "Walnut Phone Stand", 3400,
     ["phone", "stand", "desk", "walnut", "wood"],
     "A solid walnut block with an angled slot that holds a phone upright for calls, recipes "
     "or a bedside alarm. Fits most phones, even in a case."),
    ("portable-speaker", "tech", "Portable Speaker", 7900,
     ["speaker", "audio", "bluetooth", "wireless"],
     "A rugged Bluetooth speaker with a woven fabric grille and a full sound for its size. "
     "Splash-proof, 16 hours of play, and a leather strap to carry it by."),
    ("mechanical-keyboard", "tech", "Mechanical Keyboard", 12900,
     ["keyboard", "desk", "typing", "usb-c"],
     "A compact 75% keyboard with hot-swappable tactile switches and PBT keycaps on an "
     "aluminium case. Connects over USB-C or Bluetooth."),
    ("cable-organizer", "tech", "Leather Cable Wraps", 1900,
     ["cable", "leather", "organizer", "travel"],
     "Three vegetable-tanned leather straps with brass snaps that keep chargers and headphone "
     "cables neatly coiled. A small thing that calms a messy bag."),
    ("merino-beanie", "apparel", "Merino Beanie", 3600,
     ["hat", "wool", "merino", "winter"],
     "A rib-knit beanie in fine merino wool with a deep turned-up cuff. Warm and breathable, "
     "and soft enough not to itch."),
    ("canvas-tote", "apparel", "Canvas Tote Bag", 2800,
     ["bag", "tote", "canvas", "cotton"],
     "A heavy natural cotton canvas tote with a red stripe and long handles that sit "
     "comfortably on the shoulder. Carries a week of groceries or a laptop and books."),
    ("wool-socks", "apparel", "Wool Socks, Two Pairs", 1800,
     ["socks", "wool", "winter"],
     "Two pairs of cushioned wool-blend crew socks with reinforced heels and toes. Warm in "
     "boots, cool in trainers."),
    ("denim-apron", "apparel", "Denim Work Apron", 5400,
     ["apron", "denim", "kitchen", "workshop"],
     "A sturdy indigo denim apron with leather straps, brass rivets and pockets for a pen, a "
     "phone and a thermometer. At home in the kitchen, the workshop or the garden."),
    ("flannel-shirt", "apparel", "Flannel Shirt", 6800,
     ["shirt", "flannel", "cotton"],
     "A brushed cotton flannel shirt in a red plaid with two chest pockets. Soft from the "
     "first wear and warm enough for autumn on its own."),
]  # fmt: skip

categories = sa.table(
    "categories",
    sa.column("slug", sa.Text),
    sa.column("name", sa.Text),
    sa.column("description", sa.Text),
    sa.column("position", sa.Integer),
)
products = sa.table(
    "products",
    sa.column("id", sa.Text),
    sa.column("category", sa.Text),
    sa.column("name", sa.Text),
    sa.column("description", sa.Text),
    sa.column("price_amount", sa.Integer),
    sa.column("price_currency", sa.Text),
    sa.column("tags", ARRAY(sa.Text)),
)


def upgrade() -> None:
    op.bulk_insert(
        categories,
        [
            {"slug": slug, "name": name, "description": description, "position": position}
            for position, (slug, name, description) in enumerate(CATEGORIES, start=1)
        ],
    )
    op.bulk_insert(
        products,
        [
            {
                "id": product_id,
                "category": category,
                "name": name,
                "description": description,
                "price_amount": price,
                "price_currency": "USD",
                "tags": tags,
            }
            for product_id, category, name, price, tags, description in PRODUCTS
        ],
    )


def downgrade() -> None:
    # Only the seeded rows: products added later through the API belong to the merchant.
    op.execute(products.delete().where(products.c.id.in_([p[0] for p in PRODUCTS])))
    op.execute(
        categories.delete().where(
            categories.c.slug.in_([c[0] for c in CATEGORIES]),
            ~sa.exists().where(products.c.category == categories.c.slug),
        )
    )
