"""Exceptions raised by bytelite.

Every error bytelite raises on purpose is a :class:`bytelite.Error` whose message is the same
one-line message the command-line tool prints: what was expected and what was found, e.g.
``"m.blt: format version: expected 1 (the newest this runtime reads), found 2 (...)"``.
Each class also derives from the built-in exception a Python user would catch:

- ``InputError`` (``ValueError``): a data file that cannot be read or parsed;
- ``ConfigError`` (``ValueError``): an invalid config key or value, or a bad override;
- ``InvalidArgument`` (``ValueError``): an argument out of range, or a model of the wrong
  architecture for the class;
- ``ModelFileError`` (``OSError``): a model file or checkpoint that is missing, corrupt or
  incompatible;
- ``TrainingError`` (``RuntimeError``): training diverged (non-finite loss).
"""


class Error(Exception):
    """Base class of every error bytelite raises on purpose."""


class InputError(Error, ValueError):
    """A data file that cannot be read or parsed (the message names file, line, expected, found)."""


class ConfigError(Error, ValueError):
    """An invalid configuration key or value, or an invalid option."""


class InvalidArgument(Error, ValueError):
    """An argument outside its documented range, or a model of the wrong architecture."""


class ModelFileError(Error, OSError):
    """A model file or checkpoint that is missing, corrupt or incompatible."""


class TrainingError(Error, RuntimeError):
    """Training diverged: the message names the step, the loss and the learning rate."""


__all__ = ["Error", "InputError", "ConfigError", "InvalidArgument", "ModelFileError",
           "TrainingError"]
