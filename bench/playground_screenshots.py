"""Screenshots of the playground's presets at the end of their story, through a real browser.

Starts the playground on this machine, opens it in headless Chromium (Debian's ``chromium`` and
``pip install .[playground-test]``), and for each preset: chooses it in the menu, sets the steps
per frame (a live control, so the run is the preset's own), presses "step" until the chosen
method has trained the preset's story length, and saves the whole page as
``preset-<name>-end.png`` in ``--out`` (with ``--plots-only``, the page above its article). The
docs' playground pictures come from this script:

    python bench/playground_screenshots.py [--out artifacts] [--preset darcy ...] [--frame 500]
        [--plots-only]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Dict

from pinnbilo.playground import start
from pinnbilo.playground.browser import find_chromium, wait_for

# Steps of each preset's story: where its sentences' claims are visible (BiLO's D(x) and Darcy's
# f by 2500-5000 steps, Fisher-KPP's PINN within 1% only after ~17,500, the system's rates after
# its 3000 pretraining steps and the fast move after them).
STORY_STEPS: Dict[str, int] = {
    "pinn_data_weight": 3000,
    "bilo_follows": 3000,
    "noisy_data": 3000,
    "fisher_kpp": 20000,
    "unknown_function": 5000,
    "darcy": 2500,
    "system": 10000,
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="artifacts", help="folder for the PNG files")
    ap.add_argument("--preset", action="append", help="only these presets (default: all)")
    ap.add_argument("--frame", type=int, default=500, help="steps per press of 'step'")
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument("--height", type=int, default=1000)
    ap.add_argument("--plots-only", action="store_true", help="leave the article below the plots out")
    args = ap.parse_args()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise SystemExit("needs Playwright: pip install .[playground-test]") from None
    exe = find_chromium()
    if not exe:
        raise SystemExit("needs Chromium: apt-get install chromium (or set PINNBILO_CHROMIUM)")

    os.makedirs(args.out, exist_ok=True)
    server, _thread = start(heartbeat_timeout=30.0)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-gpu"], headless=True)
            page = browser.new_page(viewport={"width": args.width, "height": args.height})
            page.goto(server.url)
            page.wait_for_selector("#readout-0")
            names = [q["name"] for q in page.evaluate("meta.presets")]
            for name in args.preset or names:
                if name not in names:
                    raise SystemExit(f"no preset {name!r}; presets: {', '.join(names)}")
                steps = STORY_STEPS.get(name, 3000)
                t0 = time.perf_counter()
                page.select_option("#ctl-preset", name)
                wait_for(lambda n=name: page.evaluate("document.body.dataset.preset") == n, 20, f"preset {name}")
                wait_for(lambda: page.evaluate("state.models && state.models[0].step === 0"), 30, "a fresh run")
                page.fill("#ctl-steps_per_frame", str(args.frame))
                page.press("#ctl-steps_per_frame", "Enter")
                wait_for(lambda: page.evaluate("state.config.steps_per_frame") == args.frame, 20, "the frame size")
                while page.evaluate("state.models[0].step") < steps:
                    before = page.evaluate("state.models[0].step")
                    page.click("#btn-step")
                    wait_for(lambda b=before: page.evaluate("state.models[0].step") > b, 600, f"a frame of {name}")
                if not page.evaluate("document.getElementById('error').hidden"):
                    raise SystemExit(f"{name}: the page shows an error: {page.inner_text('#error')}")
                path = os.path.join(args.out, f"preset-{name}-end.png")
                if args.plots_only:
                    top = page.evaluate("document.getElementById('article').getBoundingClientRect().top + scrollY")
                    clip = {"x": 0, "y": 0, "width": args.width, "height": int(top)}
                    page.screenshot(path=path, full_page=True, clip=clip)
                else:
                    page.screenshot(path=path, full_page=True)
                step = page.evaluate("state.models[0].step")
                print(f"{name:<18} step {step:>6}  {time.perf_counter() - t0:6.0f} s  {path}", flush=True)
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
