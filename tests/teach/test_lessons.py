"""The notes' lessons show what they claim: the dying-ReLU example's large learning rate
kills units and ends worse, and its report says so with the numbers it shows."""

import pytest

from descent.teach.examples import build_example


@pytest.fixture(scope="module")
def dying():
    return build_example("dying-relu")


def test_a_large_learning_rate_kills_units_and_ends_with_a_worse_loss(dying):
    small, large = dying.data["0.005"], dying.data["0.5"]
    assert small["dead_at_start"] == large["dead_at_start"]  # the same initial network
    # dead already after the first epoch, and most of the layer by the end
    assert large["dead_fraction"][0] > 0.25 > small["dead_fraction"][0]
    assert large["dead_at_end"] > 0.8 > 0.1 > small["dead_at_end"]
    assert large["dead_at_end"] == large["dead_fraction"][-1]  # recorded on all 256 points
    # a clearly worse fit: several times the loss, no better than predicting the mean
    assert large["loss"][-1] > 4 * small["loss"][-1]
    assert large["loss"][-1] > 0.9 * dying.data["mean_baseline"] > small["loss"][-1]


def test_the_dying_relu_report_says_its_numbers_in_words(dying):
    small, large = dying.data["0.005"], dying.data["0.5"]
    units = dying.data["units"]
    text = dying.render("text")
    for fraction in (large["dead_fraction"][0], large["dead_at_end"], small["dead_at_end"]):
        assert f"{fraction:.0%} ({round(fraction * units)} of {units})" in text
    for loss in (small["loss"][-1], large["loss"][-1], dying.data["mean_baseline"]):
        assert f"{loss:.3f}" in text
    assert f"{large['loss'][-1] / small['loss'][-1]:.1f} times as high" in text
    rows = [line.split() for line in text.splitlines() if line.strip().startswith("0.")]
    assert rows == [["0.005", f"{small['dead_at_start']:.0%}",
                     f"{small['dead_fraction'][0]:.0%}", f"{small['dead_at_end']:.0%}",
                     f"{small['loss'][-1]:.3f}"],
                    ["0.5", f"{large['dead_at_start']:.0%}",
                     f"{large['dead_fraction'][0]:.0%}", f"{large['dead_at_end']:.0%}",
                     f"{large['loss'][-1]:.3f}"]]
