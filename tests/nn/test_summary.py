"""Parameter counts and summaries."""


from descent import nn


def test_summary_and_count():
    text = nn.summary(nn.MLP([2, 1024, 512, 3], activation="sigmoid", output="softmax"))
    first_layer = text.splitlines()[1].split()
    assert first_layer == ["0:", "Linear(2", "→", "1024)", "(n,", "1024)", "3072"]
    assert "total parameters: 529411" in text
