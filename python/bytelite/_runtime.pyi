# The extension module behind bytelite.Classifier / Seq2Seq; documented in __init__.pyi.
from . import Classifier as Classifier, Hypothesis as Hypothesis, Seq2Seq as Seq2Seq
from . import available_isas as available_isas

__version__: str


def write_report(run_dir: str, data: str, out: str, model: str, peers: str, threads: int,
                 agreement_json: str) -> str: ...
