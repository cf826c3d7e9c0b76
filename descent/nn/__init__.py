"""Neural-network building blocks: modules, layers, activations, initialisers."""

from descent.nn import init
from descent.nn.activations import ELU, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Step, Tanh
from descent.nn.layers import MLP, Dropout, Linear, Sequential
from descent.nn.module import Module, Parameter
from descent.nn.summary import count_parameters, summary

__all__ = [
    "ELU", "MLP", "Dropout", "Identity", "LeakyReLU", "Linear", "Module", "Parameter",
    "ReLU", "Sequential", "Sigmoid", "Softmax", "Step", "Tanh", "count_parameters", "init",
    "summary",
]
