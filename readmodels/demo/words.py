"""Word lists the demo world is written from.

Product titles are adjective + material + noun, with the noun taken from the
product's root category, so a search for a material ("bamboo") or a noun
("earbuds") finds a useful crowd of products. Lists are written as
comma-separated strings to keep this data file short.
"""

from __future__ import annotations

from typing import NamedTuple


def _words(text: str) -> tuple[str, ...]:
    return tuple(word.strip() for word in text.split(",") if word.strip())


class RootCategory(NamedTuple):
    name: str
    children: tuple[str, ...]  # globally unique names
    nouns: tuple[str, ...]  # product nouns for products under this root


def _root(name: str, children: str, nouns: str) -> RootCategory:
    return RootCategory(name, _words(children), _words(nouns))


ROOT_CATEGORIES: tuple[RootCategory, ...] = (
    _root(
        "Electronics",
        "Headphones, Speakers, Chargers, Keyboards, Cameras, Smartwatches, Phone Cases, Cables,"
        "Drones, Projectors",
        "Earbuds, Speaker, Charger, Headphones, Keyboard, Webcam, Power Bank, Tripod, Smartwatch,"
        "Phone Case",
    ),
    _root(
        "Home & Kitchen",
        "Cookware, Tableware, Storage, Bedding, Lighting, Rugs, Candles, Vases, Cutlery,"
        "Coffee Gear",
        "Mug, Bowl, Cutting Board, Teapot, Vase, Candle, Blanket, Pillow, Frying Pan, Coaster",
    ),
    _root(
        "Fashion",
        "Jackets, Dresses, Sneakers, Scarves, Hats, Bags, Belts, Socks, Sweaters, Jeans",
        "Jacket, Scarf, Beanie, Tote Bag, Sneakers, Sweater, Belt, Backpack, Wallet, Cap",
    ),
    _root(
        "Beauty",
        "Skincare, Haircare, Fragrance, Makeup, Nail Care, Bath, Shaving, Sunscreen, Brushes,"
        "Lip Care",
        "Soap, Serum, Face Cream, Shampoo Bar, Lip Balm, Hair Brush, Comb, Bath Salts, Perfume,"
        "Face Mask",
    ),
    _root(
        "Sports & Outdoors",
        "Camping, Cycling, Yoga, Running, Hiking, Fishing, Climbing, Swimming, Fitness,Team Sports",
        "Yoga Mat, Water Bottle, Tent, Hiking Poles, Headlamp, Jump Rope, Dumbbell, Sleeping Bag,"
        "Bike Light, Swim Goggles",
    ),
    _root(
        "Toys & Games",
        "Board Games, Puzzles, Plush Toys, Building Sets, Dolls, Outdoor Toys, Card Games,"
        "Model Kits, Baby Toys, Science Kits",
        "Puzzle, Board Game, Teddy Bear, Building Blocks, Kite, Yo-Yo, Rattle, Doll House,"
        "Spinning Top, Marble Run",
    ),
    _root(
        "Garden",
        "Planters, Seeds, Garden Tools, Watering, Garden Lights, Bird Feeders, Compost,"
        "Garden Furniture, Greenhouses, Hoses",
        "Planter, Trowel, Watering Can, Bird Feeder, Garden Bench, Seed Kit, Pruning Shears,"
        "Lantern, Hose Reel, Plant Stand",
    ),
    _root(
        "Books & Stationery",
        "Notebooks, Pens, Planners, Art Supplies, Cookbooks, Novels, Journals, Greeting Cards,"
        "Wrapping Paper, Desk Organizers",
        "Notebook, Fountain Pen, Planner, Sketchbook, Journal, Bookmark, Pencil Case,"
        "Greeting Card, Desk Organizer, Bookend",
    ),
    _root(
        "Pets",
        "Dog Toys, Cat Toys, Pet Beds, Leashes, Pet Food, Grooming, Aquariums, Bird Supplies,"
        "Pet Carriers, Collars",
        "Dog Leash, Cat Tree, Pet Bed, Chew Toy, Feeding Bowl, Collar, Pet Brush,"
        "Scratching Post, Pet Carrier, Treat Jar",
    ),
    _root(
        "Food & Drink",
        "Coffee, Tea, Chocolate, Snacks, Spices, Olive Oil, Honey, Sauces, Pasta, Baking",
        "Coffee Beans, Tea Blend, Chocolate Bar, Granola, Spice Mix, Olive Oil, Honey Jar,"
        "Hot Sauce, Pasta Set, Baking Kit",
    ),
    _root(
        "Health",
        "Vitamins, Supplements, First Aid, Massage, Sleep, Aromatherapy, Oral Care, Eye Care,"
        "Protein, Herbal Remedies",
        "Massage Roller, Sleep Mask, Diffuser, Toothbrush, Heat Pad, Essential Oil,"
        "Pill Organizer, Foam Roller, Eye Pillow, Herbal Tea",
    ),
    _root(
        "Office",
        "Desks, Office Chairs, Monitor Stands, Desk Lamps, Filing, Whiteboards, Mouse Pads,"
        "Laptop Stands, Cable Management, Ergonomics",
        "Desk Lamp, Monitor Stand, Mouse Pad, Laptop Stand, Desk Mat, File Box, Footrest,"
        "Whiteboard, Cable Tray, Wrist Rest",
    ),
)

# Grandchild categories are "<qualifier> <child>", e.g. "Travel Headphones".
CATEGORY_QUALIFIERS = _words(
    "Premium, Compact, Kids, Travel, Vintage, Smart, Eco, Pro, Mini, Classic, Outdoor, Everyday,"
    "Luxury, Budget, Handmade, Modern, Organic, Seasonal, Professional, Starter"
)

ADJECTIVES = _words(
    "Wireless, Classic, Modern, Rustic, Compact, Deluxe, Vintage, Minimal, Cozy, Portable,"
    "Handcrafted, Everyday, Premium, Nordic, Urban, Sunny, Midnight, Coastal, Alpine, Smart,"
    "Soft, Bold, Tiny, Grand, Golden, Silent, Lightweight, Foldable, Retro, Wild"
)

MATERIALS = _words(
    "Bamboo, Cotton, Linen, Leather, Ceramic, Oak, Walnut, Steel, Copper, Glass, Wool, Cork,"
    "Marble, Hemp, Silicone, Recycled, Stone, Brass, Clay, Canvas"
)

TAGS = _words("organic, handmade, clearance, bestseller, new, limited, eco, vegan, gift")
# Tags a product draws at random; "bestseller" and "new" are earned (see catalog.py).
RANDOM_TAGS = tuple(tag for tag in TAGS if tag not in ("bestseller", "new"))

PRICED_SEGMENTS = _words("vip, wholesale, students")
SEGMENTS = (*PRICED_SEGMENTS, "staff", "newsletter")

DESCRIPTIONS = (
    "Made in small batches and built to last.",
    "Our customers' favourite, now in a fresh colour.",
    "Designed with care for everyday use.",
    "A thoughtful gift for someone special.",
    "Sustainably sourced and carefully packed.",
    "Simple, sturdy and easy to love.",
)

STORE_PREFIXES = _words(
    "Northwind, Bluebird, Maple, Harbor, Juniper, Copperleaf, Sunday, Little Fox, Wildflower,"
    "Kestrel, Moss, Tidewater, Hearth, Atlas"
)
STORE_SUFFIXES = _words("Goods, Studio, Supply Co., Workshop, Market, Collective, Atelier, House")

FIRST_NAMES = _words(
    "Ava, Noah, Mia, Liam, Zoe, Elias, Lena, Mateo, Ines, Jonas, Sofia, Yusuf, Clara, Hugo,"
    "Amara, Felix, Nora, Theo, Maya, Oskar"
)
LAST_NAMES = _words(
    "Berg, Moreau, Rossi, Novak, Silva, Weber, Okafor, Lindqvist, Costa, Tanaka, Kowalski,"
    "Haddad, Jensen, Garcia, Dubois, Meyer"
)
CREATOR_TOPICS = _words(
    "home cooking, slow living, street style, trail running, indie games, plant care,"
    "desk setups, skincare, DIY, coffee, travel, pets"
)

COLLECTION_TITLES = _words(
    "Summer Essentials, Editor's Picks, Gifts Under 30, Back to School, Cozy Season,"
    "Weekend Projects, Small Space Living, Staff Favourites, Zero Waste, New Arrivals,"
    "Holiday Gift Guide, Outdoor Adventures"
)

PROMOTION_THEMES = _words(
    "Spring Sale, Summer Deals, Flash Sale, Weekend Special, Members Week, Clearance Event,"
    "Bundle & Save, Loyalty Thanks, Launch Offer, Holiday Sale"
)

POST_OPENERS = (
    "Just unboxed the",
    "Can't stop using my",
    "Restocked! The",
    "Styling the",
    "Behind the scenes with the",
    "Our bestseller, the",
    "First look at the",
)
POST_CLOSERS = (
    "Link in bio.",
    "What do you think?",
    "Limited run, don't wait.",
    "Tag someone who needs this.",
    "Made with love.",
    "More soon!",
)
POST_ROUTINES = (
    "Slow morning, good coffee, no plans.",
    "Studio day: sketching the next drop.",
    "Q&A tonight, send me your questions.",
    "Packing orders all afternoon, thank you all.",
    "A little tour of my workspace.",
)
