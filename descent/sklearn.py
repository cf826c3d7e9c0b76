"""scikit-learn estimators backed by descent: drop-in ``MLPClassifier`` and
``MLPRegressor``.

They take scikit-learn's hyper-parameter names with the same meaning, and pass
scikit-learn's own MLP test file (``python -m tests.peers.sklearn_mlp``; the few tests
that read its private internals are listed in ``docs/sklearn.md``). Weights start as
scikit-learn's do (its Glorot-uniform variant, biases included); ``solver="lbfgs"`` is
SciPy's L-BFGS-B, as in scikit-learn. Beyond scikit-learn: ``init`` (descent's
initialisers), ``loss`` (``"mae"``, ``"sse"``, ...), ``dropout``, per-layer ``activation``
lists, the activations ``"elu"`` and ``"leaky_relu"``, and the optimisers ``"rmsprop"``,
``"adagrad"`` and ``"adamw"`` (``optimizer=``). Sparse input is accepted and made dense.

Needs scikit-learn (``pip install 'descent[cli]'``).
"""

import warnings

import numpy as np
import scipy.sparse
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._available_if import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import (_check_sample_weight, check_is_fitted, column_or_1d,
                                      validate_data)

from descent import losses
from descent.training.callbacks import Callback
from descent.nn.layers import MLP
from descent.optim.optimizers import SGD, AdaGrad, Adam, AdamW, LBFGS, RMSProp
from descent.optim.scipy_lbfgs import minimize_lbfgs_b
from descent.training.stopping import Criterion, EarlyStopping, LossPlateau, TrainingDiverged
from descent.autograd.functional import sigmoid, softmax
from descent.nn.inspect import predict
from descent.autograd.tensor import is_grad_enabled, tensor
from descent.training.loop import train

__all__ = ["MLPClassifier", "MLPRegressor"]

_ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "sigmoid": "sigmoid",
                "tanh": "tanh", "relu": "relu", "elu": "elu", "leaky_relu": "leaky_relu"}
_SOLVERS = ("lbfgs", "sgd", "adam")
_OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "lbfgs")
_SCHEDULES = ("constant", "invscaling", "adaptive")
_NON_FINITE = ("Solver produced non-finite parameter weights. The input data may contain "
               "large values and need to be preprocessed.")


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


def _change_rate(optimizer, lr):
    """Set the learning rate as scikit-learn changes it between epochs. scikit-learn's
    SGD velocity is the step itself (v ← μv − ηg), descent's momentum buffer the
    gradients' running sum (b ← μb + g, the step −ηb): the two agree while η stays, and
    the buffer scaled by η_old/η_new keeps them agreeing when it changes."""
    if isinstance(optimizer, SGD) and lr != optimizer.lr:
        for state in optimizer.state:
            buffer = state.get("momentum_buffer")
            if buffer is not None:
                buffer *= optimizer.lr / lr
    optimizer.lr = lr


class _InverseScaling(Callback):
    """scikit-learn's ``learning_rate="invscaling"``: after every epoch,
    η_t = η / (t + 1)^power_t, t being the number of examples seen so far."""

    def __init__(self, estimator, optimizer, examples):
        self.estimator, self.optimizer, self.examples = estimator, optimizer, examples

    def on_epoch_end(self, record):
        self.estimator.t_ += self.examples
        _change_rate(self.optimizer, self.estimator.learning_rate_init
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
        _change_rate(self.optimizer, self.optimizer.lr / 5)
        self.plateau.stale = 0  # as scikit-learn: the count starts again, the best stays
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
                 optimizer=None, init=None):
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
        self.init = init

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
        if self.n_iter_no_change != np.inf:
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

    def _data_loss(self):
        """The data loss ``(prediction, target, sample_weight) -> scalar`` (a mean over
        the examples, weighted by ``sample_weight`` when given)."""
        return losses.get_loss(self.loss if callable(self.loss) else self._default_loss())

    def _loss_function(self, model, report=None):
        """The training loss: the data loss plus scikit-learn's L2 penalty, α/2 · Σ‖W‖²
        over the weights divided by the batch size (by the sum of the sample weights when
        there are some); ``report`` (a _SquaredErrorReport) is told each training batch's
        data loss."""
        base = self._data_loss()
        weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
        penalized = losses.Penalized(base, weights, l2=self.alpha, per_example=True)
        if report is None:  # a loss the compiled engine can train
            return penalized if self.alpha else base

        def reported_squared_error(prediction, target, sample_weight=None):
            value = base(prediction, target, sample_weight=sample_weight)
            if is_grad_enabled():  # (not for validation data)
                report.seen(value.item(), len(prediction.data))
            total = len(prediction.data) if sample_weight is None else sample_weight.sum()
            return penalized.add_to(value, total)

        return reported_squared_error

    def _random_sources(self):
        """What draws the initial weights and the validation split, and what shuffles.

        As scikit-learn does, a seed, None or a RandomState gives a RandomState
        (``check_random_state``), from which the initial weights are drawn in
        scikit-learn's order and then the validation split: the same numbers as
        scikit-learn's. A NumPy Generator (descent's extension) serves for all three.
        """
        if isinstance(self.random_state, np.random.Generator):
            return self.random_state
        return check_random_state(self.random_state)

    def _seed_from_draws(self):
        """A Generator for shuffling, drawn from the random source after what scikit-learn
        draws (weights, split) — or the Generator given."""
        if isinstance(self._draws, np.random.Generator):
            return self._draws
        return np.random.default_rng(self._draws.randint(np.iinfo(np.int32).max))

    def _build(self, n_features, hidden, activations, dtype):
        """A new network; by default with scikit-learn's initialisation: weights and
        biases uniform in ±√(f / (fan_in + fan_out)), f = 2 for logistic units, else 6,
        drawn layer by layer (weights, then biases)."""
        model = MLP([n_features, *hidden, self.n_outputs_], activation=activations,
                    dropout=self.dropout, dtype=dtype,
                    rng=self._seed_from_draws() if self.init is not None else 0,
                    **({} if self.init is None else {"init": self.init}))
        if self.init is None:
            factor = 2.0 if self.activation == "logistic" else 6.0
            for layer in self._layers_of(model):
                fan_in, fan_out = layer.weight.shape
                bound = np.sqrt(factor / (fan_in + fan_out))
                layer.weight.data[...] = self._draws.uniform(-bound, bound, (fan_in, fan_out))
                layer.bias.data[...] = self._draws.uniform(-bound, bound, fan_out)
        return model

    # ----------------------------------------------------------------- fitting
    def _fit(self, X, y, sample_weight=None, incremental=False):
        self._validate_hyperparameters()
        hidden = self._hidden_sizes()
        activations = self._activations(len(hidden))
        lbfgs = (self.optimizer or self.solver) == "lbfgs"
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        first = not hasattr(self, "coefs_") or not (incremental or self.warm_start)
        X, targets = self._prepare(X, y, first, incremental)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        self._draws = self._random_sources()
        if first:
            self.model_ = self._build(X.shape[1], hidden, activations, X.dtype.name)
            self._optimizer = None
            self.t_ = 0
            self.best_loss_ = np.inf
            if not lbfgs:
                self.loss_curve_ = []
            if self.early_stopping:
                self.validation_scores_, self.best_validation_score_ = [], -np.inf
            else:
                self.validation_scores_ = self.best_validation_score_ = None
        else:
            self._sync_weights(hidden, activations, X.dtype.name)
        if lbfgs:
            self._fit_lbfgs(X, targets, sample_weight)
        else:
            self._fit_stochastic(X, targets, sample_weight, incremental)
        self._publish_weights()
        if not all(np.all(np.isfinite(w)) for w in [*self.coefs_, *self.intercepts_]):
            raise ValueError(_NON_FINITE)
        return self

    def _fit_lbfgs(self, X, targets, sample_weight):
        """scikit-learn's lbfgs: SciPy's L-BFGS-B on the whole data set."""
        self.engine_ = "graph"
        self.engine_reason_ = "solver='lbfgs' is SciPy's L-BFGS-B on the graph engine's gradients"
        loss_fn = self._loss_function(self.model_)
        X_tensor = tensor(X)
        weights = None if sample_weight is None else sample_weight.astype(X.dtype)
        target_values = self._loss_targets(targets)
        self.model_.train()
        result = minimize_lbfgs_b(
            self.model_.parameters(),
            lambda: loss_fn(self.model_(X_tensor), target_values, sample_weight=weights),
            max_iter=self.max_iter, max_fun=self.max_fun, gtol=self.tol)
        self.n_iter_ = min(int(result.nit), self.max_iter)
        self.loss_ = float(result.fun)
        if result.status != 0:
            message = result.message.decode() if isinstance(result.message, bytes) \
                else str(result.message)
            warnings.warn(f"lbfgs failed to converge after {self.n_iter_} iteration(s) "
                          f"(status={result.status}): {message}. Increase the number of "
                          f"iterations (max_iter={self.max_iter}) or of loss evaluations "
                          f"(max_fun={self.max_fun}), or scale the data.",
                          ConvergenceWarning)

    def _fit_stochastic(self, X, targets, sample_weight, incremental):
        if getattr(self, "_optimizer", None) is None or not incremental:
            self._optimizer = self._make_optimizer(list(self.model_.parameters()))
        validation = None
        if self.early_stopping:
            X, targets, sample_weight, validation = self._split(X, targets, sample_weight)
        if not incremental or not hasattr(self, "_rng"):
            self._rng = self._seed_from_draws()
        batch_size = min(200, len(X)) if self.batch_size == "auto" \
            else min(self.batch_size, len(X))
        stop, callbacks = self._stopping(incremental, validation, len(X))
        report = self._loss_report()
        if report is not None:
            callbacks.insert(0, report)  # before anything reads the epoch's loss
        self.n_iter_ = 0
        try:
            history = train(self.model_, X, targets,
                            loss=self._loss_function(self.model_, report),
                            optimizer=self._optimizer, batch_size=batch_size,
                            epochs=1 if incremental else self.max_iter, shuffle=self.shuffle,
                            seed=self._rng, stop=stop, validation=validation,
                            callbacks=callbacks, progress=False, task=self._task,
                            diagnostics=False, sample_weight=sample_weight)
        except TrainingDiverged as error:
            if validation is None:
                raise ValueError(_NON_FINITE) from error
            # as scikit-learn: the run ends with a NaN validation score, and the best
            # epoch's weights (early stopping keeps them)
            self._record(error.history, True, len(X))
            self.validation_scores_.append(np.nan)
            best = stop[0].best_state
            if best is not None:
                self.model_.load_state_dict(best)
            return
        self._record(history, validation is not None, len(X))
        if not incremental and history.stop_reason.startswith("reached the maximum"):
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) "
                          "reached and the optimization hasn't converged yet.",
                          ConvergenceWarning)

    def _split(self, X, targets, sample_weight):
        """scikit-learn's validation split (stratified for one output, as it does)."""
        stratify = self._stratify(targets)
        seed = self._draws if isinstance(self._draws, np.random.RandomState) \
            else int(self._draws.integers(np.iinfo(np.int32).max))
        keep, held = train_test_split(np.arange(len(X)), test_size=self.validation_fraction,
                                      random_state=seed, stratify=stratify)
        if len(held) < 2:
            raise ValueError("The validation set is too small. Increase "
                             "'validation_fraction' or the size of your dataset.")
        weights = None if sample_weight is None else sample_weight[keep]
        return X[keep], targets[keep], weights, (X[held], targets[held])

    def _patience(self):
        """scikit-learn's n_iter_no_change as a patience (inf: never stop early)."""
        return None if self.n_iter_no_change == np.inf else int(self.n_iter_no_change) + 1

    def _stopping(self, incremental, validation, examples):
        stop, callbacks = [], []
        if incremental:
            return stop, callbacks
        patience = self._patience()
        if validation is not None:
            stop.append(EarlyStopping(monitor=self._validation_metric,
                                      patience=patience or self.max_iter + 1,
                                      min_delta=self.tol, mode="max", restore_best=True))
        elif patience is not None:
            plateau = LossPlateau(tol=self.tol, patience=patience)
            adaptive = (self.learning_rate == "adaptive"
                        and isinstance(self._optimizer, SGD))
            stop.append(_AdaptivePlateau(plateau, self._optimizer) if adaptive else plateau)
        if self.learning_rate == "invscaling" and isinstance(self._optimizer, SGD):
            callbacks.append(_InverseScaling(self, self._optimizer, examples))
        if self.verbose:
            callbacks.append(_Verbose())
        return stop, callbacks

    def _record(self, history, validated, examples):
        self.learning_rate_ = self._optimizer.lr  # as invscaling / adaptive left it
        self.engine_, self.engine_reason_ = history.engine, history.engine_reason
        losses_seen = history["loss"]
        self.loss_curve_ += losses_seen
        self.n_iter_ += len(history)
        if not isinstance(self._optimizer, SGD) or self.learning_rate != "invscaling":
            self.t_ += len(history) * examples
        if losses_seen:
            self.loss_ = losses_seen[-1]
        if validated:
            self.validation_scores_ += history[self._validation_metric]
            self.best_validation_score_ = max(self.validation_scores_, default=-np.inf)
            self.best_loss_ = None
        elif losses_seen:
            self.best_loss_ = min(self.best_loss_ if self.best_loss_ is not None else np.inf,
                                  min(losses_seen))

    # ----------------------------------------------------------------- weights
    @staticmethod
    def _layers_of(model):
        return [m for m in model if hasattr(m, "weight")]

    def _layers(self):
        return self._layers_of(self.model_)

    def _publish_weights(self):
        """``coefs_`` and ``intercepts_``: the network's own arrays, so that changing them
        in place changes the model; a list item replaced is taken in by ``_sync_weights``
        before the next prediction or fit."""
        layers = self._layers()
        self.coefs_ = [layer.weight.data for layer in layers]
        self.intercepts_ = [layer.bias.data for layer in layers]
        self.n_layers_ = len(layers) + 1

    def _sync_weights(self, hidden=None, activations=None, dtype="float64"):
        """Take in ``coefs_`` and ``intercepts_`` as they are now (assigned by the user, as
        scikit-learn allows); builds the network from them if there is none yet."""
        if not hasattr(self, "model_"):
            sizes = [np.shape(c) for c in self.coefs_]
            self.model_ = MLP([sizes[0][0], *(b for _, b in sizes)],
                              activation=activations, dtype=dtype, rng=0)
        layers = self._layers()
        if len(self.coefs_) != len(layers) or len(self.intercepts_) != len(layers):
            raise ValueError(f"coefs_ and intercepts_ need {len(layers)} arrays each, one "
                             "per layer")
        for layer, weight, bias in zip(layers, self.coefs_, self.intercepts_):
            for parameter, values, name in ((layer.weight, weight, "coefs_"),
                                            (layer.bias, bias, "intercepts_")):
                if values is parameter.data:
                    continue
                values = np.asarray(values, dtype=parameter.dtype)
                if values.size != parameter.data.size:
                    raise ValueError(f"{name} holds an array of shape {values.shape} where "
                                     f"the network has {parameter.data.shape}")
                parameter.data[...] = values.reshape(parameter.data.shape)
        self._publish_weights()

    def _dense(self, X):
        """Sparse input made dense: descent's engine works on dense arrays."""
        return X.toarray() if scipy.sparse.issparse(X) else X

    def _forward(self, X):
        check_is_fitted(self, "coefs_")
        self._sync_weights()
        X = self._dense(validate_data(self, X, reset=False, dtype=(np.float64, np.float32),
                                      accept_sparse=["csr", "csc", "coo"]))
        return predict(self.model_, X.astype(self.model_[0].weight.dtype, copy=False))

    def _loss_targets(self, targets):
        return targets

    def __getstate__(self):
        # An optimiser holds the parameters it updates; a copied estimator rebuilds its
        # own around its own network (see __setstate__) from the optimiser's state.
        state = dict(self.__dict__)
        optimizer = state.pop("_optimizer", None)
        state["_optimizer_state"] = None if optimizer is None else optimizer.state_dict()
        return state

    def __setstate__(self, state):
        saved = state.pop("_optimizer_state", None)
        self.__dict__.update(state)
        self._optimizer = None
        if saved is not None and hasattr(self, "model_"):
            self._optimizer = self._make_optimizer(list(self.model_.parameters()))
            self._optimizer.load_state_dict(saved)
            self._publish_weights()

    def _stochastic(self):
        """partial_fit exists for the stochastic solvers only (as in scikit-learn)."""
        name = self.optimizer or self.solver
        if name == "lbfgs":
            raise AttributeError(f"partial_fit is only available for stochastic optimizers; "
                                 f"{name} is not stochastic")
        return True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        tags.input_tags.sparse = True
        return tags


class _Verbose(Callback):
    def on_epoch_end(self, record):
        print(f"Iteration {record['epoch']}, loss = {record['loss']:.8f}")


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier trained by descent (softmax cross-entropy; a
    single logistic output for two classes; one logistic output per label for a
    multilabel indicator matrix), with scikit-learn's interface.

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

    def _data_loss(self):
        if self._task != "multilabel":
            return super()._data_loss()

        # scikit-learn's multilabel log-loss: summed over the labels, averaged over the
        # examples
        def multilabel(prediction, target, sample_weight=None):
            total = losses.binary_cross_entropy_with_logits(
                prediction, target, reduction="sum", sample_weight=sample_weight)
            return total * (1.0 / (len(prediction.data) if sample_weight is None
                                   else float(np.sum(sample_weight))))
        return multilabel

    def _prepare(self, X, y, reset, incremental):
        X, y = validate_data(self, X, y, reset=reset, dtype=(np.float64, np.float32),
                             accept_sparse=["csr", "csc", "coo"], multi_output=True)
        X = self._dense(X)
        if type_of_target(y) == "multilabel-indicator":
            return X, self._multilabel(y, reset)
        if np.ndim(y) == 2 and np.shape(y)[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if reset or not hasattr(self, "classes_"):
            self.classes_ = getattr(self, "_partial_classes", None)
            if self.classes_ is None:
                self.classes_ = unique_labels(y)
        elif not incremental and not np.array_equal(np.unique(y), self.classes_):
            raise ValueError("warm_start can only be used where `y` has the same classes as "
                             f"in the previous call to fit. Previously got {self.classes_}, "
                             f"`y` has {np.unique(y)}")
        unknown = np.setdiff1d(np.unique(y), self.classes_)
        if unknown.size:
            raise ValueError(f"y contains labels not seen before: {unknown.tolist()}")
        codes = np.searchsorted(self.classes_, y)
        binary = len(self.classes_) <= 2 and self.loss in (None,
                                                           "binary_cross_entropy_with_logits")
        self._task = "binary_logits" if binary else "multiclass"
        self.n_outputs_ = 1 if binary else len(self.classes_)
        self.out_activation_ = "logistic" if binary else "softmax"
        return X, codes

    def _multilabel(self, y, reset):
        y = np.asarray(y)
        if reset:
            self.classes_ = np.arange(y.shape[1])
        elif y.shape[1] != len(self.classes_):
            raise ValueError(f"y has {y.shape[1]} labels; the model was fitted with "
                             f"{len(self.classes_)}")
        self._task = "multilabel"
        self.n_outputs_ = y.shape[1]
        self.out_activation_ = "logistic"
        return y.astype(np.float64)

    def _loss_targets(self, targets):
        if self._task == "binary_logits":  # one logistic output: 0/1 in a column
            return targets.reshape(-1, 1).astype(np.float64)
        return targets

    def _stratify(self, targets):
        if self._task == "multilabel" or self.n_outputs_ != 1:
            return None
        return targets.astype(bool).reshape(-1, 1)  # as scikit-learn: its binarised labels

    def fit(self, X, y, sample_weight=None):
        """Fit to data X (n_samples, n_features; dense or sparse) and labels y (or a
        multilabel indicator matrix), optionally weighting each example."""
        self.__dict__.pop("_partial_classes", None)
        return self._fit(X, y, sample_weight)

    @available_if(_BaseMLP._stochastic)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over (X, y); ``classes`` (all labels) is required on the first call
        (not for a multilabel indicator matrix) and may not change later."""
        multilabel = type_of_target(y) == "multilabel-indicator"
        if not hasattr(self, "classes_"):
            if classes is None and not multilabel:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            self._partial_classes = None if multilabel else unique_labels(classes)
        elif classes is not None and not multilabel \
                and not np.array_equal(self.classes_, unique_labels(classes)):
            raise ValueError(f"`classes={list(classes)!r}` is not the same as on last call to "
                             f"partial_fit, was: {list(self.classes_)!r}")
        return self._fit(X, y, sample_weight, incremental=True)

    def predict_proba(self, X):
        """Class probabilities, one column per class in ``classes_`` order (for a
        multilabel model: the probability of each label, independently)."""
        output = self._forward(X).astype(np.float64)
        if self._task == "multilabel":
            return sigmoid(output).data
        if self.n_outputs_ == 1:
            positive = sigmoid(output[:, 0]).data
            return np.column_stack([1 - positive, positive])
        return softmax(output).data

    def predict_log_proba(self, X):
        """The logarithm of ``predict_proba(X)``."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """The most probable class of each row (for a multilabel model, a 0/1 column per
        label: 1 where its probability is above 0.5)."""
        probabilities = self.predict_proba(X)
        if self._task == "multilabel":
            return (probabilities > 0.5).astype(int)
        if len(self.classes_) == 1:
            return np.full(len(probabilities), self.classes_[0])
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
    _losses = ("squared_error", "mse", "sse", "mae", "poisson")
    _task = "regression"

    def _default_loss(self):
        # scikit-learn's squared error: its gradient is that of ½ Σ_k (y − ŷ)² per example
        # (see _SquaredErrorReport for the loss it reports with several outputs); its
        # Poisson loss works from the log-rate the network outputs (predictions exp(z))
        if self.loss in (None, "squared_error"):
            return losses.sse
        return losses.poisson_nll if self.loss == "poisson" else self.loss

    def _loss_report(self):
        default = self.loss in (None, "squared_error")
        return _SquaredErrorReport(self.n_outputs_) if default and self.n_outputs_ > 1 \
            else None

    def _prepare(self, X, y, reset, incremental):
        X, y = validate_data(self, X, y, reset=reset, dtype=(np.float64, np.float32),
                             accept_sparse=["csr", "csc", "coo"], multi_output=True,
                             y_numeric=True)
        X = self._dense(X)
        y = np.asarray(y, dtype=X.dtype)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError("Some value(s) of y are negative which is not allowed for "
                             "Poisson regression.")
        if reset or not hasattr(self, "_y_is_vector"):
            self._y_is_vector = y.ndim == 1
            self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
            self.out_activation_ = "exp" if self.loss == "poisson" else "identity"
        return X, y.reshape(len(y), -1)

    def _stratify(self, targets):
        return None

    def fit(self, X, y, sample_weight=None):
        """Fit to data X (n_samples, n_features; dense or sparse) and targets y
        (n_samples[, n_outputs]), optionally weighting each example."""
        return self._fit(X, y, sample_weight)

    @available_if(_BaseMLP._stochastic)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over (X, y), continuing from the current weights."""
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """The predicted targets: one value per row, or one column per output for a
        multi-output target."""
        output = self._forward(X)
        if self.out_activation_ == "exp":
            output = np.exp(output)
        return output[:, 0] if self._y_is_vector else output

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
