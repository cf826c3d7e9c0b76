"""The page in a real browser: Debian's Chromium (never a downloaded one) driven by
Playwright, against the playground served by uvicorn on 127.0.0.1."""

import base64
import os

import numpy as np
import pytest

import descent
from descent.nn.inspect import class_probabilities
from descent.playground import inputs_for
from descent.playground.views import grid
from tests.playground.conftest import served
from descent.teach.explain import load_spec

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
TOKEN = "browser-test-token"
XOR = "#dataset=xor&hidden=8,8&activations=tanh,tanh&dropout=0,0&learning_rate=0.1&speed=5"

if not os.path.exists(CHROMIUM) and not os.environ.get("CI"):  # CI installs it (.ci/run)
    pytest.skip(f"the browser tests drive Debian's Chromium ({CHROMIUM}): apt-get install "
                "chromium", allow_module_level=True)


@pytest.fixture(scope="module")
def address():
    with served(TOKEN) as where:
        yield f"http://{where}/?token={TOKEN}"


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, address):
    context = browser.new_context(viewport={"width": 1280, "height": 800},
                                  accept_downloads=True)
    tab = context.new_page()
    tab.problems = []
    tab.on("console", lambda m: m.type in ("error", "warning") and tab.problems.append(m.text))
    tab.on("pageerror", lambda error: tab.problems.append(str(error)))

    def open_page(fragment=""):
        tab.goto("about:blank")  # a new page load, even where only the hash differs
        tab.goto(address + fragment)
        tab.wait_for_selector("body[data-playing]")  # the first frame has been drawn
        return tab

    tab.open = open_page
    yield tab
    context.close()


def _number(tab, testid):
    text = tab.get_by_test_id(testid).text_content().replace(",", "").rstrip("%")
    return float(text)


def _epoch_past(tab, epochs, timeout=20_000):
    tab.wait_for_function(
        f"() => Number(document.querySelector('[data-testid=epoch]').textContent"
        f".replace(/,/g, '')) >= {epochs}", timeout=timeout)


def _plays_and_learns(tab, epochs):
    tab.get_by_test_id("step").click()
    _epoch_past(tab, 1)
    before = _number(tab, "loss")
    tab.get_by_test_id("play").click()
    _epoch_past(tab, epochs)
    tab.get_by_test_id("pause").click()
    tab.get_by_test_id("play").wait_for()
    return before, _number(tab, "loss")


def test_the_page_loads_with_no_console_errors_on_one_screen(page):
    tab = page.open()
    assert tab.get_by_test_id("epoch").text_content() == "000"
    for testid in ("play", "step", "reset", "dataset", "upload", "add-layer", "remove-layer",
                   "learning-rate", "activation", "explain-step", "save-model", "loss",
                   "test-loss", "accuracy"):
        assert tab.get_by_test_id(testid).count() == 1, testid
    assert tab.locator("canvas[data-testid=heatmap]").count() == 1
    assert tab.evaluate("document.scrollingElement.scrollHeight") <= 800
    box = tab.get_by_test_id("heatmap").bounding_box()
    assert box["y"] + box["height"] <= 800 and box["x"] + box["width"] <= 1280
    assert tab.problems == []


def test_play_makes_the_epoch_rise_and_the_loss_fall_on_xor(page):
    tab = page.open(XOR)
    before, after = _plays_and_learns(tab, 60)
    assert after < before * 0.6
    assert _number(tab, "accuracy") > 90
    assert tab.problems == []


def test_play_learns_a_three_class_spiral(page):
    tab = page.open("#dataset=spiral&classes=3&hidden=16,16&activations=relu,relu"
                    "&dropout=0,0&optimizer=adam&learning_rate=0.01&batch_size=16&speed=10")
    assert tab.get_by_test_id("unit-3-2").count() == 1  # three softmax outputs
    before, after = _plays_and_learns(tab, 200)
    assert after < before * 0.7
    assert tab.locator("[data-testid=confusion] tr").count() == 4
    assert tab.problems == []


def test_pause_and_step_advance_exactly_one_epoch(page):
    tab = page.open()
    tab.get_by_test_id("play").click()
    _epoch_past(tab, 10)
    tab.get_by_test_id("pause").click()
    tab.get_by_test_id("play").wait_for()
    stopped = _number(tab, "epoch")
    tab.wait_for_timeout(300)
    assert _number(tab, "epoch") == stopped
    tab.get_by_test_id("step").click()
    _epoch_past(tab, stopped + 1)
    tab.wait_for_timeout(300)
    assert _number(tab, "epoch") == stopped + 1
    tab.get_by_test_id("reset").click()
    tab.wait_for_function("() => document.querySelector('[data-testid=epoch]').textContent"
                          " === '000'")


def test_a_csv_upload_trains(page, tmp_path):
    rows = np.random.default_rng(2).uniform(-3, 3, (300, 2))
    path = tmp_path / "points.csv"
    path.write_text("a,b,side\n" + "".join(f"{x:.4f},{y:.4f},{'up' if y > x else 'down'}\n"
                                          for x, y in rows))
    tab = page.open()
    tab.get_by_test_id("upload").set_input_files(str(path))
    tab.wait_for_function("() => document.querySelector('[data-testid=status]').textContent"
                          ".startsWith('Read 300 rows')")
    assert tab.get_by_test_id("dataset").input_value() == "csv"
    assert tab.get_by_test_id("column-label").input_value() == "side"
    before, after = _plays_and_learns(tab, 30)
    assert after < before
    assert tab.problems == []


def test_hostile_settings_and_oversized_uploads_are_refused(page, tmp_path):
    tab = page.open("#hidden=100,100&activations=tanh,tanh&dropout=0,0")
    tab.wait_for_function("() => document.querySelector('[data-testid=status]').textContent"
                          ".includes('hidden[0] must be a whole number from 1 to 16')")
    assert tab.get_by_test_id("unit-1-3").count() == 1  # still the default 4-unit layer
    big = tmp_path / "big.csv"
    big.write_bytes(b"1,2,3\n" * 200_000)
    tab.get_by_test_id("upload").set_input_files(str(big))
    tab.wait_for_function("() => document.querySelector('[data-testid=status]').textContent"
                          ".includes('larger than 1,048,576 bytes')")
    assert tab.get_by_test_id("dataset").input_value() == "circle"


def test_explain_step_shows_the_derivation_and_a_units_numbers(page):
    tab = page.open("#hidden=3&activations=sigmoid&dropout=0&loss=mse")
    tab.get_by_test_id("explain-step").click()
    explanation = tab.get_by_test_id("explanation")
    tab.wait_for_function("() => document.querySelector('[data-testid=explanation]').textContent"
                          ".includes('z3 = x1 · w13 + x2 · w23 + b3')")
    assert "e6 = " in explanation.text_content()
    tab.get_by_test_id("unit-1-0").click()
    popover = tab.get_by_test_id("popover")
    for words in ("Unit 3", "z3 (net input)", "o3 (activation)", "e3 = ∂E/∂z3", "∂E/∂b3",
                  "b3 after the update"):
        assert words in popover.text_content()
    tab.get_by_test_id("link-2-1-0").dispatch_event("click")
    assert "∂E/∂w4,6" in popover.text_content() and "w4,6 after the update" in \
        popover.text_content()
    tab.get_by_test_id("edit-value").fill("1.25")
    tab.get_by_test_id("edit-set").click()
    tab.wait_for_function("() => window.playground.state.frame.weights[1][1][0] === 1.25")
    assert "The weights changed since" in explanation.text_content()
    assert tab.problems == []


def test_a_saved_model_loads_in_descent_and_predicts_as_the_page_did(page, tmp_path):
    tab = page.open("#dataset=gauss&features=x1,x2,x1^2&hidden=5&activations=relu"
                    "&dropout=0.1")
    _plays_and_learns(tab, 20)
    with tab.expect_download() as download:
        tab.get_by_test_id("save-model").click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert path.name == "playground.descent"
    model = descent.load(path)
    shown = tab.evaluate("window.playground.state.frame.output.classes")
    domain = tab.evaluate("window.playground.state.data.domain")
    on_page = np.frombuffer(base64.b64decode(shown), np.uint8)
    points = grid(domain, int(np.sqrt(on_page.size)))
    assert np.array_equal(class_probabilities(model, inputs_for(model, points))
                          .argmax(axis=1), on_page)
    assert "takes the feature columns X₁, X₂, X₁²" in \
        tab.get_by_test_id("status").text_content()
    for testid, name in (("export-spec", "playground-spec.json"),
                         ("export-python", "playground.py")):
        with tab.expect_download() as download:
            tab.get_by_test_id(testid).click()
        assert download.value.suggested_filename == name
    with tab.expect_download() as download:
        tab.get_by_test_id("export-spec").click()
    spec = tmp_path / "spec.json"
    download.value.save_as(spec)
    assert load_spec(spec).model[0].in_features == 3
    tab.get_by_test_id("load-model").set_input_files(str(path))
    tab.wait_for_function("() => document.querySelector('[data-testid=status]').textContent"
                          ".startsWith('Loaded the model')")


def test_the_controls_change_the_network_and_the_link(page):
    tab = page.open()
    tab.get_by_test_id("add-layer").click()
    tab.wait_for_function("() => document.getElementById('layer-count').textContent === '3'")
    tab.get_by_test_id("add-unit-0").click()
    tab.get_by_test_id("unit-1-4").wait_for()
    tab.get_by_test_id("activation").select_option("relu")
    tab.wait_for_function("() => location.hash.includes('activations=relu%2Crelu%2Crelu')")
    tab.get_by_test_id("layer-activation-1").select_option("elu")
    tab.get_by_test_id("learning-rate").select_option("0.3")
    tab.wait_for_function("() => location.hash.includes('learning_rate=0.3')")
    tab.get_by_test_id("feature-x1^2").click()
    tab.locator("[data-testid='feature-x1^2']:not(.off)").wait_for()  # a third input
    tab.get_by_test_id("remove-layer").click()
    tab.wait_for_function("() => document.getElementById('layer-count').textContent === '2'")
    link = tab.evaluate("location.hash")
    assert "hidden=5%2C2" in link and "features=x1%2Cx2%2Cx1%5E2" in link
    again = page.open(link)
    assert again.get_by_test_id("unit-1-4").count() == 1
    assert again.get_by_test_id("learning-rate").input_value() == "0.3"
    assert tab.problems == []
