# The extension module behind bytelite.train / pretrain / export / evaluate (loads libtorch).
# Call the package functions (documented in __init__.pyi), which check and convert arguments.
from typing import Any, Callable, Dict, List, Optional, Union

def train(config: Union[Dict[str, Any], str], train: str, valid: str, out: str, resume: bool,
          init_from: str, stop_after: int, verbose: bool,
          progress: Optional[Callable[[Dict[str, Any]], None]], max_steps: int, epochs: int,
          threads: int, seed: int, qat: str, skip_bad_rows: bool) -> Dict[str, Any]: ...
def pretrain(config: Union[Dict[str, Any], str], corpus: List[str], out: str, resume: bool,
             max_steps: int, verbose: bool,
             progress: Optional[Callable[[Dict[str, Any]], None]], steps: int, threads: int,
             seed: int, heldout: str, init_from: str) -> Dict[str, Any]: ...
def export(checkpoint: str, out: str) -> Dict[str, Any]: ...
