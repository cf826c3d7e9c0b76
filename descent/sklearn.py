"""scikit-learn estimators backed by descent: drop-in ``MLPClassifier`` and
``MLPRegressor``.

They take scikit-learn's hyper-parameter names with the same meaning where the two
overlap, and add descent's own: ``loss``, ``dropout``, per-layer ``activation`` lists,
the activations ``"elu"`` and ``"leaky_relu"``, and the optimisers ``"rmsprop"``,
``"adagrad"`` and ``"adamw"`` (``optimizer=``). Differences from scikit-learn's MLP:
weights start from descent's defaults (He before ReLU-like units, Glorot otherwise);
``solver="lbfgs"`` takes one fixed-step L-BFGS iteration per epoch (no line search), so
``max_fun`` only bounds function evaluations; ``learning_rate="invscaling"`` and
``"adaptive"`` follow scikit-learn's rules for the SGD solver.

Needs scikit-learn (``pip install 'descent[cli]'``).
"""

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import check_is_fitted, validate_data

from descent import losses
from descent.autograd import ops
from descent.autograd.backend import as_rng
from descent.training.callbacks import Callback
from descent.data.preprocessing import split_indices
from descent.nn.layers import MLP
from descent.optim.optimizers import SGD, AdaGrad, Adam, AdamW, LBFGS, RMSProp
from descent.training.stopping import Criterion, EarlyStopping, LossPlateau
from descent.autograd.functional import sigmoid, softmax
from descent.nn.inspect import predict
from descent.autograd.tensor import is_grad_enabled
from descent.training.loop import train

_ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "sigmoid": "sigmoid",
                "tanh": "tanh", "relu": "relu", "elu": "elu", "leaky_relu": "leaky_relu"}
_SOLVERS = ("lbfgs", "sgd", "adam")
_OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "lbfgs")
_SCHEDULES = ("constant", "invscaling", "adaptive")


def _choice(name, value, allowed):
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; "
                         f"got {value!r}")


def _number(name, value, low, high=None, low_open=False, integer=False):
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    bad = isinstance(value, bool) or not isinstance(value, kinds)
    if not bad:
        bad = value <= low if low_open else value < low
        bad = bad or (high is not None and value >= high)
    if bad:
        span = f"{'(' if low_open else '['}{low}, {high if high is not None else 'inf'})"
        raise ValueError(f"{name} must be {'an integer' if integer else 'a number'} in "
                         f"{span}; got {value!r}")


class _InverseScaling(Callback):
    """scikit-learn's ``learning_rate="invscaling"``: after every epoch,
    η_t = η / (t + 1)^power_t, t being the number of examples seen so far."""

    def __init__(self, estimator, optimizer, examples):
        self.estimator, self.optimizer, self.examples = estimator, optimizer, examples

    def on_epoch_end(self, record):
        self.estimator.t_ += self.examples
        self.optimizer.lr = (self.estimator.learning_rate_init
                             / (self.estimator.t_ + 1) ** self.estimator.power_t)


class _AdaptivePlateau(Criterion):
    """scikit-learn's ``learning_rate="adaptive"``: on a plateau, stop if the rate is
    already at most 1e-6, else divide it by 5 and carry on."""

    def __init__(self, plateau, optimizer):
        self.plateau, self.optimizer = plateau, optimizer

    def on_train_begin(self, model):
        self.plateau.on_train_begin(model)

    def check(self, record, model):
        reason = self.plateau.check(record, model)
        if reason is None:
            return None
        if self.optimizer.lr <= 1e-6:
            return "learning rate too small after repeated plateaus"
        self.optimizer.lr = self.optimizer.lr / 5
        self.plateau.on_train_begin(model)
        return None


class _SquaredErrorReport(Callback):
    """scikit-learn's squared error with k outputs: it reports half the mean over all
    n·k entries, but steps along the gradient of half the per-example sum over the k
    outputs (k times larger). descent trains on the latter (``losses.sse``), so that the
    steps are the same, and this callback turns each epoch's recorded loss into the
    former: it takes (1 − 1/k) of the epoch's mean data loss off."""

    def __init__(self, outputs):
        self.excess = 1.0 - 1.0 / outputs
        self.total = self.rows = 0.0

    def seen(self, value, rows):
        self.total += value * rows
        self.rows += rows

    def on_epoch_begin(self, epoch):
        self.total = self.rows = 0.0

    def on_epoch_end(self, record):
        if self.rows:
            record["loss"] -= self.excess * self.total / self.rows


class _BaseMLP(BaseEstimator):
    """The shared fitting machinery; see ``MLPClassifier`` and ``MLPRegressor``."""

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, loss=None, dropout=0.0,
                 optimizer=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.loss = loss
        self.dropout = dropout
        self.optimizer = optimizer

    # ----------------------------------------------------------------- checks
    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, (int, np.integer)) else list(sizes)
        if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0
                   for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be positive integers; got "
                             f"{self.hidden_layer_sizes!r}")
        return [int(s) for s in sizes]

    def _activations(self, hidden):
        names = self.activation if isinstance(self.activation, (list, tuple)) \
            else [self.activation] * hidden
        for name in names:
            _choice("activation", name, tuple(_ACTIVATIONS))
        if len(names) != hidden:
            raise ValueError(f"activation lists {len(names)} names for {hidden} hidden layers")
        return [_ACTIVATIONS[name] for name in names]

    def _validate_hyperparameters(self):
        _choice("solver", self.solver, _SOLVERS)
        if self.optimizer is not None:
            _choice("optimizer", self.optimizer, _OPTIMIZERS)
        _choice("learning_rate", self.learning_rate, _SCHEDULES)
        _number("alpha", self.alpha, 0)
        _number("learning_rate_init", self.learning_rate_init, 0, low_open=True)
        _number("power_t", self.power_t, 0)
        _number("max_iter", self.max_iter, 1, integer=True)
        _number("tol", self.tol, 0)
        _number("momentum", self.momentum, 0, 1.0 + 1e-12)
        _number("validation_fraction", self.validation_fraction, 0, 1, low_open=True)
        _number("beta_1", self.beta_1, 0, 1)
        _number("beta_2", self.beta_2, 0, 1)
        _number("epsilon", self.epsilon, 0, low_open=True)
        _number("n_iter_no_change", self.n_iter_no_change, 1, integer=True)
        _number("max_fun", self.max_fun, 1, integer=True)
        _number("dropout", self.dropout, 0, 1)
        if self.batch_size != "auto":
            _number("batch_size", self.batch_size, 1, integer=True)
        if self.loss is not None and not callable(self.loss):
            _choice("loss", self.loss, self._losses)

    # ----------------------------------------------------------------- building
    def _make_optimizer(self, params):
        name = self.optimizer or self.solver
        lr = self.learning_rate_init
        if name == "sgd":
            momentum = min(self.momentum, 1 - 1e-12)
            return SGD(params, lr=lr, momentum=momentum,
                       nesterov=bool(self.nesterovs_momentum and momentum > 0))
        if name == "adam":
            return Adam(params, lr=lr, betas=(self.beta_1, self.beta_2), eps=self.epsilon)
        if name == "adamw":
            return AdamW(params, lr=lr, betas=(self.beta_1, self.beta_2), eps=self.epsilon)
        if name == "rmsprop":
            return RMSProp(params, lr=lr, eps=self.epsilon)
        if name == "adagrad":
            return AdaGrad(params, lr=lr)
        return LBFGS(params, lr=1.0, max_iter=1, max_eval=self.max_fun,
                     tolerance_grad=self.tol, history_size=10)

    def _loss_report(self):
        """A callback that turns the recorded loss into scikit-learn's, or None."""
        return None

    def _loss_function(self, model, report=None):
        """The training loss: the data loss plus scikit-learn's L2 penalty; ``report``
        (a _SquaredErrorReport) is told each training batch's data loss."""
        base = losses.get_loss(self.loss if callable(self.loss) else self._default_loss())
        weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
        alpha = self.alpha
        if not alpha and report is None:
            return base

        def loss(prediction, target):
            value = base(prediction, target)
            if report is not None and is_grad_enabled():  # (not for validation data)
                report.seen(value.item(), len(prediction.data))
            if not alpha:
                return value
            # scikit-learn's L2 penalty: α/2 · Σ‖W‖² / batch size, weights only
            return ops.sum_of_squares(weights, 0.5 * alpha / len(prediction.data),
                                      plus=value)

        return loss

    # ----------------------------------------------------------------- fitting
    def _fit(self, X, y, incremental=False):
        self._validate_hyperparameters()
        hidden = self._hidden_sizes()
        activations = self._activations(len(hidden))
        reset = not (incremental or self.warm_start) or not hasattr(self, "model_")
        X, targets = self._prepare(X, y, reset)
        if reset:
            self._rng = as_rng(np.random.default_rng(self.random_state)
                               if not isinstance(self.random_state, np.random.Generator)
                               else self.random_state)
            self.model_ = MLP([X.shape[1], *hidden, self.n_outputs_], activation=activations,
                              dropout=self.dropout, dtype=X.dtype.name, rng=self._rng)
            self._optimizer = self._make_optimizer(list(self.model_.parameters()))
            self.loss_curve_, self.n_iter_, self.t_ = [], 0, 0
            self.best_loss_ = np.inf
            if self.early_stopping:
                self.validation_scores_, self.best_validation_score_ = [], -np.inf
            else:
                self.validation_scores_ = self.best_validation_score_ = None
        validation = None
        if self.early_stopping and not incremental:
            keep, held = split_indices(len(X), self.validation_fraction,
                                       self._stratify(targets), self._rng)
            validation = (X[held], targets[held])
            X, targets = X[keep], targets[keep]
        lbfgs = isinstance(self._optimizer, LBFGS)
        batch_size = None if lbfgs else (min(200, len(X)) if self.batch_size == "auto"
                                         else min(self.batch_size, len(X)))
        stop, callbacks = self._stopping(incremental, validation, len(X))
        report = self._loss_report()
        if report is not None:
            callbacks.insert(0, report)  # before anything reads the epoch's loss
        history = train(self.model_, X, targets,
                        loss=self._loss_function(self.model_, report),
                        optimizer=self._optimizer, batch_size=batch_size,
                        epochs=1 if incremental else self.max_iter, shuffle=self.shuffle,
                        seed=self._rng, stop=stop, validation=validation,
                        callbacks=callbacks, progress=False, task=self._task,
                        diagnostics=False)
        self._record(history, validation is not None, len(X))
        if (not incremental and history.stop_reason.startswith("reached the maximum")
                and not lbfgs):
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) "
                          "reached and the optimization hasn't converged yet.",
                          ConvergenceWarning)
        return self

    def _stopping(self, incremental, validation, examples):
        stop, callbacks = [], []
        if incremental:
            return stop, callbacks
        if validation is not None:
            stop.append(EarlyStopping(monitor=self._validation_metric,
                                      patience=self.n_iter_no_change + 1,
                                      min_delta=self.tol, mode="max", restore_best=True))
        else:
            plateau = LossPlateau(tol=self.tol, patience=self.n_iter_no_change + 1)
            adaptive = (self.learning_rate == "adaptive"
                        and isinstance(self._optimizer, SGD))
            stop.append(_AdaptivePlateau(plateau, self._optimizer) if adaptive else plateau)
        if self.learning_rate == "invscaling" and isinstance(self._optimizer, SGD):
            callbacks.append(_InverseScaling(self, self._optimizer, examples))
        if self.verbose:
            callbacks.append(_Verbose())
        return stop, callbacks

    def _record(self, history, validated, examples):
        losses_seen = history["loss"]
        self.loss_curve_ += losses_seen
        self.n_iter_ += len(history)
        if not isinstance(self._optimizer, SGD) or self.learning_rate != "invscaling":
            self.t_ += len(history) * examples
        self.loss_ = losses_seen[-1]
        if validated:
            self.validation_scores_ += history[self._validation_metric]
            self.best_validation_score_ = max(self.validation_scores_)
            self.best_loss_ = None
        else:
            self.best_loss_ = min(self.best_loss_ if self.best_loss_ is not None else np.inf,
                                  min(losses_seen))
        layers = [m for m in self.model_ if hasattr(m, "weight")]
        self.coefs_ = [layer.weight.data.copy() for layer in layers]
        self.intercepts_ = [layer.bias.data.copy() for layer in layers]
        self.n_layers_ = len(layers) + 1

    def _forward(self, X):
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        return predict(self.model_, X.astype(self.model_[0].weight.dtype, copy=False))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


class _Verbose(Callback):
    def on_epoch_end(self, record):
        print(f"Iteration {record['epoch']}, loss = {record['loss']:.8f}")


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier trained by descent (softmax cross-entropy; a
    single logistic output for two classes), with scikit-learn's interface.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from descent.sklearn import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01,
    ...                     max_iter=1000, tol=1e-3, random_state=0)
    >>> clf.fit(X / 8, y).score(X / 8, y) > 0.9
    True
    """

    _validation_metric = "val_accuracy"
    _losses = ("cross_entropy", "binary_cross_entropy_with_logits")

    def _default_loss(self):
        return ("binary_cross_entropy_with_logits" if self._task == "binary_logits"
                else "cross_entropy")

    def _prepare(self, X, y, reset):
        X, y = validate_data(self, X, y, reset=reset, dtype=(np.float64, np.float32))
        check_classification_targets(y)
        if reset and not hasattr(self, "_partial_classes"):
            self.classes_ = unique_labels(y)
        elif reset:
            self.classes_ = self._partial_classes
        if len(self.classes_) < 2:
            raise ValueError(f"Classifier can't train when only one class is present: "
                             f"{self.classes_[0]!r}")
        unknown = np.setdiff1d(np.unique(y), self.classes_)
        if unknown.size:
            raise ValueError(f"y contains labels not seen before: {unknown.tolist()}")
        codes = np.searchsorted(self.classes_, y)
        binary = len(self.classes_) == 2 and self.loss in (None,
                                                           "binary_cross_entropy_with_logits")
        self._task = "binary_logits" if binary else "multiclass"
        self.n_outputs_ = 1 if binary else len(self.classes_)
        self.out_activation_ = "logistic" if binary else "softmax"
        return X, codes

    def _stratify(self, targets):
        return targets

    def fit(self, X, y):
        """Fit to data X (n_samples, n_features) and labels y."""
        if hasattr(self, "_partial_classes"):
            del self._partial_classes
        return self._fit(X, y)

    def partial_fit(self, X, y, classes=None):
        """One epoch over (X, y); ``classes`` (all labels) is required on the first call."""
        if (self.optimizer or self.solver) == "lbfgs":
            raise AttributeError("partial_fit is only available for stochastic optimizers")
        first = not hasattr(self, "model_")
        if first:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit")
            self._partial_classes = unique_labels(classes)
        return self._fit(X, y, incremental=True)

    def predict_proba(self, X):
        """Class probabilities, one column per class in ``classes_`` order."""
        output = self._forward(X).astype(np.float64)
        if self.n_outputs_ == 1:
            positive = sigmoid(output[:, 0]).data
            return np.column_stack([1 - positive, positive])
        return softmax(output).data

    def predict_log_proba(self, X):
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        probabilities = self.predict_proba(X)
        return self.classes_[np.argmax(probabilities, axis=1)]


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor trained by descent (squared error, identity
    output), with scikit-learn's interface.

    Examples
    --------
    >>> import numpy as np
    >>> from descent.sklearn import MLPRegressor
    >>> X = np.linspace(-1, 1, 50).reshape(-1, 1)
    >>> reg = MLPRegressor(hidden_layer_sizes=(16,), max_iter=500, random_state=0)
    >>> reg.fit(X, 2 * X[:, 0] + 1).score(X, 2 * X[:, 0] + 1) > 0.95
    True
    """

    _validation_metric = "val_r2"
    _losses = ("squared_error", "mse", "sse", "mae")
    _task = "regression"

    def _default_loss(self):
        # scikit-learn's squared error: its gradient is that of ½ Σ_k (y − ŷ)² per example
        # (see _SquaredErrorReport for the loss it reports with several outputs)
        return losses.sse if self.loss in (None, "squared_error") else self.loss

    def _loss_report(self):
        default = self.loss in (None, "squared_error")
        return _SquaredErrorReport(self.n_outputs_) if default and self.n_outputs_ > 1 \
            else None

    def _prepare(self, X, y, reset):
        X, y = validate_data(self, X, y, reset=reset, dtype=(np.float64, np.float32),
                             multi_output=True, y_numeric=True)
        y = np.asarray(y, dtype=X.dtype)
        if reset:
            self._y_is_vector = y.ndim == 1
            self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
            self.out_activation_ = "identity"
        return X, y.reshape(len(y), -1)

    def _stratify(self, targets):
        return None

    def fit(self, X, y):
        """Fit to data X (n_samples, n_features) and targets y (n_samples[, n_outputs])."""
        return self._fit(X, y)

    def partial_fit(self, X, y):
        """One epoch over (X, y), continuing from the current weights."""
        if (self.optimizer or self.solver) == "lbfgs":
            raise AttributeError("partial_fit is only available for stochastic optimizers")
        return self._fit(X, y, incremental=True)

    def predict(self, X):
        output = self._forward(X)
        return output[:, 0] if self._y_is_vector else output

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
