"""Same seed, same data: bit-for-bit the same history and weights, across processes,
with shuffling and dropout."""

import json
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import json, sys
    import descent
    from descent import nn

    X, y = descent.datasets.spirals(120, n_classes=3, noise=0.2, seed=0)
    model = nn.MLP([2, 24, 24, 3], activation=["relu", "tanh"], dropout=0.2, rng=42)
    history = descent.train(model, X, y, loss="cross_entropy", optimizer="adam", lr=0.01,
                            batch_size=10, epochs=6, seed=7, validation=0.25)
    json.dump({"history": {k: history[k] for k in ("loss", "val_loss", "accuracy",
                                                   "weight_change", "grad_norm")},
               "weights": {k: v.tolist() for k, v in model.state_dict().items()}},
              sys.stdout)
""")


def test_two_processes_give_identical_histories_and_weights(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    runs = [subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                           check=True).stdout for _ in range(2)]
    first, second = (json.loads(run) for run in runs)
    assert first == second  # exact equality of every float, as text and as numbers
    assert runs[0] == runs[1]
    assert len(first["history"]["loss"]) == 6
