"""Teaching: explained training steps, the lecture notes' examples, reports, the perceptron
rule, gradient descent on a function and the XOR demo."""

from descent.teach.examples import EXAMPLES, build_example
from descent.teach.explain import explain, trace_report
from descent.teach.minimize import minimize
from descent.teach.perceptron import train_perceptron

__all__ = ["EXAMPLES", "build_example", "explain", "minimize", "trace_report",
           "train_perceptron"]
