"""bytelite: tiny tokenizer-free (UTF-8 byte) text models, trained with quantization-aware
training and run as int8 models.

Inference (:class:`Classifier`, :class:`Seq2Seq`) uses the int8 runtime ``bytelite._runtime``,
which links only ``libbytelite``: importing ``bytelite`` and predicting never loads libtorch.
:func:`train`, :func:`pretrain`, :func:`export` and :func:`evaluate` import
``bytelite._train`` (libtorch) on their first call. See docs/python.md.
"""

import json as _json
import os as _os

from ._errors import (ConfigError, Error, InputError, InvalidArgument, ModelFileError,
                      TrainingError)
from ._runtime import Classifier, Hypothesis, Seq2Seq, __version__, available_isas

__all__ = [
    "Classifier", "Seq2Seq", "Hypothesis", "available_isas", "train", "pretrain", "export",
    "evaluate", "report", "Error", "InputError", "ConfigError", "InvalidArgument", "ModelFileError",
    "TrainingError", "__version__",
]

_TRAIN_OVERRIDES = ("max_steps", "epochs", "threads", "seed", "qat", "skip_bad_rows")
_PRETRAIN_OVERRIDES = ("steps", "threads", "seed", "heldout")


def _train_module():
    from . import _train  # loads libtorch
    return _train


def _config_arg(config):
    if isinstance(config, dict):
        return config
    if isinstance(config, (str, _os.PathLike)):
        return _os.fspath(config)
    raise TypeError("config: expected a dict or the path of a JSON config file, found "
                    + type(config).__name__)


def _with_settings(fn, config, settings):
    """config (dict or path) with {"section.key": value} settings applied, as `--set` does."""
    if not settings:
        return _config_arg(config)
    if not isinstance(settings, dict):
        raise ConfigError("%s: set: expected a dict of 'section.key': value, found %s"
                          % (fn, type(settings).__name__))
    if isinstance(config, dict):
        d = _json.loads(_json.dumps(config))  # a deep copy; the caller's dict is left alone
    else:
        path = _config_arg(config)
        try:
            with open(path, encoding="utf-8") as f:
                d = _json.load(f)
        except OSError as e:
            raise ConfigError("%s: expected a readable JSON config file, found one that cannot be "
                              "opened (%s)" % (path, e.strerror)) from None
        except ValueError as e:
            raise ConfigError("%s: expected JSON, found %s" % (path, e))
    for key, value in settings.items():
        section, dot, name = str(key).partition(".")
        if not dot or not section or not name or "." in name:
            raise ConfigError("%s: set: expected a key 'section.key', found %r" % (fn, key))
        sec = d.setdefault(section, {})
        if not isinstance(sec, dict):
            raise ConfigError("%s: set: expected section '%s' to be an object, found %s"
                              % (fn, section, type(sec).__name__))
        sec[name] = value
    return d


def _check_overrides(fn, overrides, allowed):
    unknown = sorted(k for k in overrides if k not in allowed)
    if unknown:
        raise ConfigError("%s: unknown override '%s': expected one of %s" %
                          (fn, unknown[0], ", ".join(allowed)))


def _int(fn, name, value, default):
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError("%s: %s: expected an integer, found %r" % (fn, name, value))
    return value


def train(config, train, valid, out, *, resume=False, init_from=None, stop_after=0,
          verbose=False, progress=None, set=None, **overrides):
    """Trains a classifier (or, for a config with ``"task": "seq2seq"``, a byte-to-byte
    model), as ``bytelite train`` does. See bytelite/__init__.pyi for the full contract."""
    _check_overrides("train", overrides, _TRAIN_OVERRIDES)
    qat = overrides.get("qat")
    if qat is None:
        qat = ""
    elif isinstance(qat, bool):
        qat = "on" if qat else "off"
    elif qat not in ("on", "off"):
        raise ConfigError("train: qat: expected True, False, 'on' or 'off', found %r" % (qat,))
    return _train_module().train(
        _with_settings("train", config, set), _os.fspath(train), _os.fspath(valid), _os.fspath(out),
        bool(resume), _os.fspath(init_from) if init_from is not None else "",
        _int("train", "stop_after", stop_after, 0), bool(verbose), progress,
        _int("train", "max_steps", overrides.get("max_steps"), 0),
        _int("train", "epochs", overrides.get("epochs"), 0),
        _int("train", "threads", overrides.get("threads"), 0),
        _int("train", "seed", overrides.get("seed"), -1), qat,
        bool(overrides.get("skip_bad_rows", False)))


def pretrain(config, corpus, out, *, resume=False, init_from=None, max_steps=0, verbose=False,
             progress=None, set=None, **overrides):
    """Pretrains a byte encoder on unlabelled text (masked byte spans), as
    ``bytelite pretrain`` does. See bytelite/__init__.pyi."""
    _check_overrides("pretrain", overrides, _PRETRAIN_OVERRIDES)
    if isinstance(corpus, (str, _os.PathLike)):
        corpus = [corpus]
    heldout = overrides.get("heldout")
    return _train_module().pretrain(
        _with_settings("pretrain", config, set), [_os.fspath(c) for c in corpus],
        _os.fspath(out), bool(resume),
        _int("pretrain", "max_steps", max_steps, 0), bool(verbose), progress,
        _int("pretrain", "steps", overrides.get("steps"), 0),
        _int("pretrain", "threads", overrides.get("threads"), 0),
        _int("pretrain", "seed", overrides.get("seed"), -1),
        "none" if heldout is False else (_os.fspath(heldout) if heldout else ""),
        _os.fspath(init_from) if init_from is not None else "")


def export(checkpoint, out):
    """Exports a QAT checkpoint to an int8 model file, as ``bytelite export`` does. See
    bytelite/__init__.pyi."""
    return _train_module().export(_os.fspath(checkpoint), _os.fspath(out))


def _is_model_file(path):
    try:
        with open(path, "rb") as f:
            return f.read(8) == b"BYTELITE"
    except OSError:
        return False


def evaluate(model_or_checkpoint, data, *, checkpoint=None, threads=2, batch_size=64,
             skip_bad_rows=False, beam_size=None, max_len=None, length_penalty=None):
    """Evaluates an int8 model file or a checkpoint on labelled data and returns the dict that
    ``bytelite eval --json`` prints. See bytelite/__init__.pyi."""
    path = _os.fspath(model_or_checkpoint)
    data = _os.fspath(data)
    threads = _int("evaluate", "threads", threads, 2)
    if _is_model_file(path) and checkpoint is None:
        # the int8 runtime alone: libtorch is not loaded
        from . import _runtime
        return _runtime.evaluate_model(path, data, threads, bool(skip_bad_rows), beam_size,
                                       max_len, length_penalty)
    for name, value in (("beam_size", beam_size), ("max_len", max_len),
                        ("length_penalty", length_penalty)):
        if value is not None:
            raise ConfigError("evaluate: %s applies to seq2seq model files only, found a "
                              "checkpoint" % name)
    if checkpoint is not None:
        model, ckpt = path, _os.fspath(checkpoint)
    else:
        model, ckpt = "", path
    return _train_module().evaluate(ckpt, model, data, threads,
                                    _int("evaluate", "batch_size", batch_size, 64),
                                    bool(skip_bad_rows))


def report(run_dir, data=None, *, out=None, model=None, peers=None, threads=1, agreement=True):
    """Writes the self-contained HTML report of a training run, as ``bytelite report`` does, and
    returns its path. See bytelite/__init__.pyi."""
    run_dir = _os.fspath(run_dir)
    out = _os.fspath(out) if out is not None else _os.path.join(run_dir, "report.html")
    data = _os.fspath(data) if data is not None else ""
    model = _os.fspath(model) if model is not None else ""
    peers = _os.fspath(peers) if peers is not None else ""
    threads = _int("report", "threads", threads, 1)
    agreement_json = ""
    ckpt = _os.path.join(run_dir, "best.ckpt")
    if agreement and data and _os.path.isfile(ckpt):
        model_path = model or _os.path.join(run_dir, "model.blt")
        try:
            train_module = _train_module()
        except ImportError:
            train_module = None  # runtime-only install: the agreement is not measured
        if train_module is not None and _is_model_file(model_path):
            result = train_module.evaluate(ckpt, model_path, data, threads, 64, False)
            if result.get("compare") is not None:
                agreement_json = _json.dumps(result["compare"])
    from . import _runtime
    _runtime.write_report(run_dir, data, out, model, peers, threads, agreement_json)
    return out
