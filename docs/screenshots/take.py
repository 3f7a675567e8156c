"""Take the README's screenshots from a running server: python docs/screenshots/take.py http://127.0.0.1:5000"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:5000"
OUT = Path(__file__).parent
PAGES = [
    ("home.png", "/", "en"),
    ("consultation.png", "/consultations/improving-bowling-green?sort=agreed", "en"),
]

with sync_playwright() as p:
    browser = p.chromium.launch(
        executable_path="/usr/bin/chromium",
        args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    )
    for name, path, lang in PAGES + [(n, p_, lang_) for n, p_, lang_ in (a.split(",") for a in sys.argv[2:])]:
        page = browser.new_page(viewport={"width": 1100, "height": 900}, locale=lang)
        page.goto(BASE + path + (("&" if "?" in path else "?") + f"lang={lang}"))
        page.screenshot(path=str(OUT / name))
        print("saved", OUT / name)
    browser.close()
