"""End to end: the playground page in a real headless Chromium (Playwright with the system browser).

The browser is Debian's ``chromium`` (or the one named by PINNBILO_CHROMIUM); nothing is
downloaded. Without a browser the test is skipped, unless PINNBILO_REQUIRE_BROWSER=1 (set by CI),
where it fails. The screenshots (the ODE page, Fisher-KPP, variable Poisson, and one per preset)
are kept under the tests' tmp dirs and copied to PINNBILO_ARTIFACTS when that is set (CI sets
it to artifacts/ in the checkout).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import pinnbilo as pb
from pinnbilo.playground.browser import find_chromium, wait_for

REQUIRED = os.environ.get("PINNBILO_REQUIRE_BROWSER") == "1"


def _need(what: str) -> None:
    msg = f"{what} (apt-get install chromium; pip install .[playground-test])"
    if REQUIRED:
        pytest.fail(f"browser test required but {msg}")
    pytest.skip(msg)


@pytest.fixture()
def browser_page():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need("playwright is not installed")
    exe = find_chromium()
    if not exe:
        _need("no chromium executable found")
    from pinnbilo.playground import start

    server, thread = start(heartbeat_timeout=10.0)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-gpu"], headless=True)
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        # the page carries its own (empty) icon: a request for /favicon.ico would be a 404
        page.on("request", lambda r: errors.append("requested " + r.url) if r.url.endswith("favicon.ico") else None)
        # 4xx answers to the bad values below are logged by Chromium as failed loads: expected.
        page.on(
            "console",
            lambda m: errors.append(m.text) if m.type == "error" and "status of 4" not in m.text else None,
        )
        try:
            yield server, page, errors
        finally:
            context.close()
            browser.close()
            server.shutdown()
            server.server_close()
            thread.join(5)


def test_playground_in_chromium(browser_page, tmp_path: Path) -> None:
    server, page, errors = browser_page
    page.goto(server.url)
    page.wait_for_selector("#readout-0")

    def readout(i: int = 0) -> dict:
        return page.eval_on_selector(f"#readout-{i}", "e => ({...e.dataset})")

    def set_text(name: str, value: str) -> None:
        page.fill(f"#ctl-{name}", value)
        page.press(f"#ctl-{name}", "Enter")

    assert readout()["method"] == "bilo" and int(readout()["step"]) == 0
    set_text("steps_per_frame", "40")
    wait_for(lambda: page.evaluate("state.config.steps_per_frame") == 40, 5, "steps per frame applied")

    # BiLO trains: the loss falls and a approaches its true value 2.
    page.click("#btn-play")
    wait_for(lambda: int(readout()["step"]) > 0, 10, "training to start")
    assert page.inner_text("#btn-play").strip().endswith("pause")
    wait_for(lambda: abs(float(readout()["a"]) - 2.0) < 0.05 and int(readout()["step"]) > 1000, 30, "BiLO a -> 2")
    first_loss = page.evaluate("state.models[0].history.total[0]")
    assert float(readout()["loss"]) < 0.1 * first_loss

    # Switch to PINN (models rebuilt, still playing), then side by side with BiLO.
    page.select_option("#ctl-method", "pinn")
    wait_for(lambda: readout()["method"] == "pinn", 5, "PINN model")
    wait_for(lambda: abs(float(readout()["a"]) - 2.0) < 0.05, 30, "PINN a -> 2")
    # BiLO's own controls are hidden while only PINN trains, shown again side by side.
    assert page.is_hidden("#row-w_rgrad") and page.is_hidden("#row-pretrain_steps")
    page.check("#ctl-compare")
    wait_for(lambda: page.query_selector("#readout-1") is not None, 5, "side-by-side models")
    wait_for(lambda: page.is_visible("#row-w_rgrad"), 5, "BiLO controls shown side by side")
    assert readout(1)["method"] == "bilo"
    assert page.query_selector("#net-1 canvas") is not None

    # A bad value is answered with a visible message; a good one is applied.
    set_text("n_res", "abc")
    page.wait_for_selector("#error:not([hidden])")
    assert "residual points" in page.inner_text("#error")
    set_text("n_res", "5000")
    wait_for(lambda: "[2, 2000]" in page.inner_text("#error"), 5, "range message")
    set_text("a_true", "1.5")
    wait_for(lambda: page.evaluate("state.a_true") == 1.5, 5, "true a = 1.5")
    assert page.is_hidden("#error")
    wait_for(lambda: abs(float(readout()["a"]) - 1.5) < 0.05, 30, "PINN a -> 1.5")

    # Pause, save (download), reset, load (upload): training state comes back.
    page.click("#btn-play")
    wait_for(lambda: page.evaluate("state.running") is False, 5, "pause")
    saved_step = int(readout()["step"])
    saved_a = float(readout()["a"])
    with page.expect_download() as dl:
        page.click("#btn-save")
    path = tmp_path / "model.npz"
    dl.value.save_as(path)
    model = pb.load(str(path))
    assert model.method == "pinn" and model.step == saved_step
    assert model.params["a"] == pytest.approx(saved_a, rel=1e-9)

    page.click("#btn-reset")
    wait_for(lambda: int(readout()["step"]) == 0, 5, "reset")
    page.set_input_files("#file-load", str(path))
    wait_for(lambda: int(readout()["step"]) == saved_step, 10, "loaded model")
    assert float(readout()["a"]) == pytest.approx(saved_a, rel=1e-9)
    assert "loaded" in page.inner_text("#notice")
    page.click("#btn-step")
    wait_for(lambda: int(readout()["step"]) == saved_step + 40, 5, "one frame of steps after loading")

    shot = tmp_path / "playground.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get("PINNBILO_ARTIFACTS"):
        dest = Path(os.environ["PINNBILO_ARTIFACTS"])
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, dest / "playground.png")
    assert not errors, errors

    # Closing the page ends its session at once (a beacon), not only after the heartbeat timeout.
    assert len(server.sessions) == 1
    page.close(run_before_unload=True)
    wait_for(lambda: not server.sessions, 5, "the session to close with the page")


def _keep(shot: Path, name: str) -> None:
    assert shot.stat().st_size > 10_000
    if os.environ.get("PINNBILO_ARTIFACTS"):
        dest = Path(os.environ["PINNBILO_ARTIFACTS"])
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, dest / name)


# Pixels of a canvas that are neither blank nor one flat colour: the heatmap was drawn.
COLOURS_DRAWN = """c => {
  const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  const seen = new Set();
  for (let i = 0; i < d.length; i += 4 * 7) {
    if (d[i + 3] > 0) seen.add((d[i] >> 3) + "," + (d[i + 1] >> 3) + "," + (d[i + 2] >> 3));
  }
  return seen.size;
}"""


def test_pde_and_function_views_in_chromium(browser_page, tmp_path: Path) -> None:
    """Fisher-KPP: heatmaps of u over (x, t) and both parameters; variable Poisson: the D(x) panel."""
    server, page, errors = browser_page
    page.goto(server.url)
    page.wait_for_selector("#readout-0")

    def state(expr: str) -> object:
        return page.evaluate(expr)

    if "fisher_kpp" in server.controls.equations:
        page.select_option("#ctl-equation", "fisher_kpp")
        wait_for(lambda: state("state.config.equation") == "fisher_kpp" and state("!!state.heat"), 10, "Fisher-KPP")
        assert page.is_visible("#heatmaps") and page.is_hidden("#plot-pred")
        assert page.inner_text("#lbl-a_init") == "initial D" and page.inner_text("#lbl-b_true") == "true rho"
        assert page.is_hidden("#row-c_init") and page.is_hidden("#row-w_reg")
        page.click("#btn-step")
        wait_for(lambda: state("state.models[0].step") == 20, 10, "one frame of Fisher-KPP")
        for sel in ("#heat-exact canvas", "#heat-0 canvas"):
            assert page.eval_on_selector(sel, COLOURS_DRAWN) > 20, sel
        assert page.query_selector("#plot-param-D") and page.query_selector("#plot-param-rho")
        assert "rho = " in page.inner_text("#readout-0")
        # A value out of the problem's bounds is refused with a message naming it.
        page.fill("#ctl-a_init", "3")
        page.press("#ctl-a_init", "Enter")
        wait_for(lambda: "outside its bounds" in page.inner_text("#error"), 5, "bounds message")
        page.fill("#ctl-a_init", "0.3")
        page.press("#ctl-a_init", "Enter")
        wait_for(lambda: page.is_hidden("#error") and state("state.config.a_init") == 0.3, 5, "initial D = 0.3")
        shot = tmp_path / "playground-fisher-kpp.png"
        page.screenshot(path=str(shot), full_page=True)
        _keep(shot, "playground-fisher-kpp.png")

    if "variable_poisson" in server.controls.equations:
        page.select_option("#ctl-equation", "variable_poisson")
        wait_for(lambda: state("state.config.equation") == "variable_poisson", 10, "variable Poisson")
        assert page.is_visible("#panel-func") and page.is_hidden("#panel-param") and page.is_visible("#plot-pred")
        assert page.is_visible("#row-w_reg") and page.is_hidden("#row-a_init")
        page.fill("#ctl-steps_per_frame", "300")
        page.press("#ctl-steps_per_frame", "Enter")
        wait_for(lambda: state("state.config.steps_per_frame") == 300, 5, "steps per frame")
        page.click("#btn-step")
        wait_for(lambda: state("state.models[0].step") == 300, 10, "one frame of variable Poisson")
        assert page.eval_on_selector("#func-D canvas", COLOURS_DRAWN) > 3
        err = float(page.get_attribute("#func-D .ferr", "data-error"))
        assert err == state("state.models[0].functions.D.error") and 0 < err < 1
        assert "relative L2 error of D" in page.inner_text("#func-D .ferr")
        shot = tmp_path / "playground-variable-poisson.png"
        page.screenshot(path=str(shot), full_page=True)
        _keep(shot, "playground-variable-poisson.png")
    assert not errors, errors


def test_a_shared_link_reproduces_the_settings_and_the_run(browser_page) -> None:
    server, page, errors = browser_page

    def readout(p, i: int = 0) -> dict:
        return p.eval_on_selector(f"#readout-{i}", "e => ({...e.dataset})")

    page.goto(server.url)
    page.wait_for_selector("#readout-0")
    page.select_option("#ctl-method", "pinn")
    for name, value in (("noise", "0.05"), ("seed", "3"), ("steps_per_frame", "60")):
        page.fill(f"#ctl-{name}", value)
        page.press(f"#ctl-{name}", "Enter")
    wait_for(lambda: page.evaluate("state.config.seed") == 3 and page.evaluate("state.config.steps_per_frame") == 60,
             5, "settings applied")  # fmt: skip
    wait_for(lambda: "seed=3" in page.evaluate("location.hash"), 5, "settings in the URL")
    link = page.evaluate("location.hash")
    assert "token" not in link and "method=pinn" in link and "noise=0.05" in link
    page.click("#btn-step")
    wait_for(lambda: int(readout(page)["step"]) == 60, 10, "one frame on the first page")

    other = page.context.new_page()
    other.goto(server.url + link)
    other.wait_for_selector("#readout-0")
    wait_for(lambda: other.evaluate("state && state.config.seed") == 3, 5, "the link's settings")
    for name in ("method", "noise", "seed", "steps_per_frame"):
        assert other.evaluate(f"state.config.{name}") == page.evaluate(f"state.config.{name}"), name
    other.click("#btn-step")
    wait_for(lambda: int(readout(other)["step"]) == 60, 10, "one frame on the linked page")
    assert readout(other)["a"] == readout(page)["a"]  # seeded: the same run
    other.close()
    assert not errors, errors


@pytest.mark.parametrize("width, height", [(1400, 1000), (1280, 720), (390, 844)])
def test_the_page_fits_every_screen(browser_page, width: int, height: int) -> None:
    """Desktop, projector and phone: nothing overflows sideways, the solution plot is in view
    without scrolling on desktop and projector, and the network view folds and unfolds."""
    server, page, errors = browser_page
    page.set_viewport_size({"width": width, "height": height})
    page.goto(server.url)
    page.wait_for_selector("#readout-0")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than a {width} px screen"
    net_open = page.evaluate("document.getElementById('panel-net').open")
    assert net_open == (height >= 900)
    if width >= 1000:  # desktop and projector: the prediction plot starts inside the first screen
        top = page.evaluate("document.getElementById('plot-pred').getBoundingClientRect().top")
        assert top < height - 150, f"the solution plot starts at {top:.0f} px on a {height} px screen"
    page.click("#panel-net > summary")
    assert page.evaluate("document.getElementById('panel-net').open") != net_open
    page.wait_for_timeout(300)  # the networks redraw at their new size
    if not net_open:  # unfolded: the network canvases are drawn at a real size
        width_px = page.evaluate("document.querySelector('#networks canvas').width")
        assert width_px > 100
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"with the network view toggled the page is {overflow} px too wide"
    assert not errors, errors


def test_every_preset_applies_and_trains(browser_page, tmp_path: Path) -> None:
    """Each guided preset sets its controls, shows its sentences and trains without an error;
    a screenshot of each after its first frame (``preset-<name>.png``, copied to
    PINNBILO_ARTIFACTS when set; bench/playground_screenshots.py takes them at the end of their
    story)."""
    server, page, errors = browser_page
    page.goto(server.url)
    page.wait_for_selector("#readout-0")
    presets = page.evaluate("meta.presets")
    assert len(presets) >= 5
    for p in presets:
        page.select_option("#ctl-preset", p["name"])
        wait_for(lambda p=p: page.evaluate("document.body.dataset.preset") == p["name"], 10, f"preset {p['name']}")
        assert page.inner_text("#preset-text") == p["text"]

        # The page's state arrives by polling, after the settings apply.
        def shown(p=p, keys=("equation", "method", "compare", "noise", "w_data")) -> bool:
            return all(page.evaluate(f"state.config.{k}") == p["settings"][k] for k in keys)

        wait_for(shown, 20, f"the state of preset {p['name']}")
        step0 = int(page.eval_on_selector("#readout-0", "e => e.dataset.step"))
        page.click("#btn-step")
        wait_for(lambda s0=step0: int(page.eval_on_selector("#readout-0", "e => e.dataset.step")) > s0, 20, "a frame")
        assert page.evaluate("document.getElementById('error').hidden"), page.inner_text("#error")
        shot = tmp_path / f"preset-{p['name']}.png"
        page.screenshot(path=str(shot), full_page=True)
        _keep(shot, shot.name)
    assert sorted(f.name for f in tmp_path.glob("preset-*.png")) == sorted(f"preset-{p['name']}.png" for p in presets)
    assert not errors, errors


@pytest.mark.parametrize("width, height", [(1280, 720), (390, 844)])
def test_darcy_preset_on_projector_and_phone(browser_page, tmp_path: Path, width: int, height: int) -> None:
    """The Darcy preset: heatmaps of u, of each learned f(x, y) beside the true f and of f's
    error, f's error in the status line, within the screen's width and without console errors."""
    server, page, errors = browser_page
    if "darcy" not in server.controls.equations:
        pytest.skip("no Darcy problem in the catalogue")
    page.set_viewport_size({"width": width, "height": height})
    page.goto(server.url)
    page.wait_for_selector("#readout-0")
    assert "darcy" in page.eval_on_selector_all("#ctl-equation option", "os => os.map((o) => o.value)")
    page.select_option("#ctl-preset", "darcy")
    ready = "state.config.equation === 'darcy' && state.models.length === 2 && !!state.heat"
    wait_for(lambda: page.evaluate(ready), 20, "the Darcy preset")
    page.click("#btn-step")
    wait_for(lambda: page.evaluate("state.models[0].step") == 20, 20, "one frame of Darcy")
    wait_for(lambda: page.query_selector("#func-f-error-1 canvas") is not None, 5, "f's heatmaps")
    assert page.is_visible("#heatmaps") and page.is_visible("#panel-func") and page.is_hidden("#panel-param")
    for sel in ("#heat-exact", "#heat-0", "#error-heat-0", "#func-f-0", "#func-f-1", "#func-f-true",
                "#func-f-error-0", "#func-f-error-1"):  # fmt: skip
        assert page.eval_on_selector(sel + " canvas", COLOURS_DRAWN) > 5, sel
    assert page.inner_text("#func-f-true h3") == "true f(x, y)"
    assert "f(x, y) error" in page.inner_text("#readout-0") and "f(x, y) error" in page.inner_text("#readout-1")
    err = float(page.get_attribute("#func-f .ferr", "data-error"))
    assert err == page.evaluate("state.models[0].functions.f.error") and 0 < err < 1
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the Darcy page is {overflow} px wider than a {width} px screen"
    shot = tmp_path / f"playground-darcy-{width}x{height}.png"
    page.screenshot(path=str(shot), full_page=True)
    _keep(shot, shot.name)
    assert not errors, errors


@pytest.mark.parametrize("width, height", [(1280, 720), (390, 844)])
def test_method_views_render_on_projector_and_phone(browser_page, width: int, height: int) -> None:
    """The pointwise error (both methods) and BiLO's local operator are drawn, with their legends
    above the plots (outside the data), and the page stays within the screen's width."""
    server, page, errors = browser_page
    page.set_viewport_size({"width": width, "height": height})
    page.goto(server.url + "#compare=1&steps_per_frame=200&pretrain_steps=200")
    page.wait_for_selector("#readout-1")
    page.click("#btn-step")
    wait_for(lambda: page.evaluate("state.models[0].step") == 200, 10, "one frame")
    wait_for(lambda: page.is_visible("#panel-error") and page.is_visible("#panel-variation"), 5, "the method views")
    assert page.eval_on_selector("#plot-error", COLOURS_DRAWN) > 3
    assert page.eval_on_selector("#variation-a canvas", COLOURS_DRAWN) > 3
    assert page.inner_text("#legend-error").split() == ["BiLO", "PINN"]
    assert "BiLO at a" in page.inner_text("#legend-variation") and "exact at a" in page.inner_text("#legend-variation")
    gap = float(page.get_attribute("#variation-a .vgap", "data-gap"))
    assert gap == max(sd["gap"] for sd in page.evaluate("state.models[0].variation[0].sides"))
    for legend, plot in (("#legend-error", "#plot-error"), ("#legend-variation", "#variation-a canvas"),
                         ("#legend-pred", "#plot-pred"), ("#legend-loss", "#plot-loss")):  # fmt: skip
        below = page.evaluate(
            f"document.querySelector('{legend}').getBoundingClientRect().bottom"
            f" <= document.querySelector('{plot}').getBoundingClientRect().top + 0.5"
        )
        assert below, f"{legend} overlaps {plot}"
    # PINN alone: no local-operator view (its network has no parameter input).
    page.select_option("#ctl-method", "pinn")
    page.uncheck("#ctl-compare")
    wait_for(lambda: page.evaluate("state.models.length") == 1 and page.evaluate("state.models[0].method") == "pinn",
             10, "PINN alone")  # fmt: skip
    wait_for(lambda: page.is_hidden("#panel-variation"), 5, "no local operator for PINN")
    assert page.is_visible("#panel-error")
    if width >= 1000 and "fisher_kpp" in server.controls.equations:
        page.select_option("#ctl-equation", "fisher_kpp")
        page.check("#ctl-compare")
        both = "state.config.equation === 'fisher_kpp' && state.models.length === 2"
        wait_for(lambda: page.evaluate(both), 10, "Fisher-KPP side by side")
        wait_for(lambda: page.query_selector("#error-heat-1 canvas") is not None, 5, "error heatmaps")
        assert page.is_hidden("#plot-error")
        for sel in ("#error-heat-0 canvas", "#error-heat-1 canvas"):
            assert page.eval_on_selector(sel, COLOURS_DRAWN) > 5, sel
        assert page.query_selector("#variation-D canvas") and page.query_selector("#variation-rho canvas")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than a {width} px screen"
    assert not errors, errors


def test_article_and_tooltips(browser_page) -> None:
    """Under the controls and plots, an article on PINN, BiLO, the residual gradient and hard
    constraints with its equations as MathML (rendered by the browser, nothing fetched), and the
    references; every control carries a tooltip, worded with the equation's own parameter names."""
    server, page, errors = browser_page
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(server.url)
    page.wait_for_selector("#readout-0")
    below = page.evaluate(
        "document.getElementById('article').getBoundingClientRect().top >="
        " document.querySelector('main').getBoundingClientRect().bottom"
    )
    assert below
    for section in ("pinn", "bilo", "rgrad", "hard"):
        n_math = page.evaluate(f"document.querySelectorAll('#article-{section} math').length")
        assert n_math >= 2, section
    assert page.evaluate("document.querySelectorAll('#article math[display=block]').length") >= 6
    # Laid out as mathematics: every formula has a size, and a fraction stacks (taller than a line of text).
    sizes = page.evaluate(
        "[...document.querySelectorAll('#article math')].map(m => [m.getBoundingClientRect().width,"
        " m.getBoundingClientRect().height])"
    )
    assert all(w > 0 and h > 0 for w, h in sizes)
    frac = page.evaluate("document.querySelector('#article-rgrad mfrac').getBoundingClientRect().height")
    font = page.evaluate("parseFloat(getComputedStyle(document.querySelector('#article p')).fontSize)")
    assert frac > 1.6 * font, (frac, font)
    refs = page.inner_text("#article-refs")
    assert "Raissi" in refs and "2019" in refs and "Lowengrub" in refs and "2404.17789" in refs

    controls = "aside input, aside select, header button, header label.button, #panel-net > summary"

    def untitled() -> list:
        # a hidden file input is covered by the title of the label that holds it
        return page.evaluate(
            f"[...document.querySelectorAll('{controls}')].filter(e => !(e.title || '').trim()"
            " && !(e.closest('label.button') && e.closest('label.button').title))"
            ".map(e => e.id || e.outerHTML.slice(0, 60))"
        )

    assert page.evaluate("document.querySelectorAll('aside input, aside select').length") >= 20
    assert untitled() == []
    assert "true value of a" in page.get_attribute("#ctl-a_true", "title")
    assert "(1 to 8)" in page.get_attribute("#ctl-layers", "title")
    if "fisher_kpp" in server.controls.equations:
        page.select_option("#ctl-equation", "fisher_kpp")
        wait_for(lambda: page.evaluate("state.config.equation") == "fisher_kpp", 10, "Fisher-KPP")
        wait_for(lambda: "rho" in (page.get_attribute("#ctl-b_init", "title") or ""), 5, "tooltips renamed")
        assert "starting guess of D" in page.get_attribute("#ctl-a_init", "title")
        assert untitled() == []
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(200)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"with the article the page is {overflow} px wider than a 390 px screen"
    assert not errors, errors


@pytest.mark.parametrize("width, height", [(1280, 720), (390, 844)])
def test_system_preset_on_projector_and_phone(browser_page, tmp_path: Path, width: int, height: int) -> None:
    """The system preset (Lotka-Volterra): both fields as curves per method (a marker per field,
    named in the legends above the plots), their errors and BiLO's local operator per rate, within
    the screen's width; on the projector the solution plot is in the first screen and a shared
    link reproduces the run."""
    server, page, errors = browser_page
    if "lotka_volterra" not in server.controls.equations:
        pytest.skip("no Lotka-Volterra problem in the catalogue")
    page.set_viewport_size({"width": width, "height": height})
    page.goto(server.url)
    page.wait_for_selector("#readout-0")
    page.select_option("#ctl-preset", "system")
    ready = "state.config.equation === 'lotka_volterra' && state.models.length === 2 && state.fields.length === 2"
    wait_for(lambda: page.evaluate(ready), 20, "the system preset")
    page.click("#btn-step")
    wait_for(lambda: page.evaluate("state.models[0].step") == 10, 20, "one frame of the system")
    wait_for(lambda: page.is_visible("#panel-variation"), 5, "the local operator")
    for sel in ("#plot-pred", "#plot-error", "#variation-alpha canvas", "#variation-gamma canvas"):
        assert page.eval_on_selector(sel, COLOURS_DRAWN) > 3, sel
    legend = page.inner_text("#legend-pred").split()
    for word in ("exact", "data", "BiLO", "PINN", "x", "y"):
        assert word in legend, (word, legend)
    assert page.inner_text("#legend-error").split() == ["BiLO", "PINN", "x", "y"]
    assert "per field (x, y)" in page.inner_text("#error-caption")
    assert "alpha = " in page.inner_text("#readout-0") and "gamma = " in page.inner_text("#readout-1")
    assert page.is_hidden("#row-u0") and page.is_visible("#row-c_init")
    for legend_sel, plot in (("#legend-pred", "#plot-pred"), ("#legend-error", "#plot-error"),
                             ("#legend-variation", "#variation-alpha canvas")):  # fmt: skip
        below = page.evaluate(
            f"document.querySelector('{legend_sel}').getBoundingClientRect().bottom"
            f" <= document.querySelector('{plot}').getBoundingClientRect().top + 0.5"
        )
        assert below, f"{legend_sel} overlaps {plot}"
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the system page is {overflow} px wider than a {width} px screen"
    shot = tmp_path / f"playground-system-{width}x{height}.png"
    page.screenshot(path=str(shot), full_page=True)
    _keep(shot, shot.name)
    if width >= 1000:
        top = page.evaluate("document.getElementById('plot-pred').getBoundingClientRect().top")
        assert top < height - 150, f"the solution plot starts at {top:.0f} px on a {height} px screen"
        wait_for(lambda: "lotka_volterra" in page.evaluate("location.hash"), 5, "the settings in the URL")
        other = page.context.new_page()
        other.set_viewport_size({"width": width, "height": height})
        other.goto(server.url + page.evaluate("location.hash"))
        other.wait_for_selector("#readout-1")
        wait_for(lambda: other.evaluate("state && state.config.equation") == "lotka_volterra", 5, "the link's settings")
        other.click("#btn-step")
        wait_for(lambda: other.evaluate("state.models[0].step") == 10, 20, "one frame on the linked page")
        assert other.evaluate("state.models.map((m) => m.params)") == page.evaluate("state.models.map((m) => m.params)")
        other.close()
    assert not errors, errors
