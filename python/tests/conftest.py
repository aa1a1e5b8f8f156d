"""Fixtures of the Python tests: the CLI to compare against and tiny models trained once per
session. Run through ctest (test `python_pytest`, which sets PYTHONPATH to the build's module
directory and BYTELITE_CLI to the built `bytelite`), or by hand:

    PYTHONPATH=build/python BYTELITE_CLI=build/bytelite /usr/bin/python3 -m pytest python/tests
"""

import json
import os
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

TINY_CLASSIFIER = {
    "tokenizer": {"max_length": 64, "lowercase_ascii": True},
    "model": {"embedding_size": 8, "bottleneck_size": 8, "qrnn_state_size": 8, "qrnn_layers": 1,
              "pooling": "attention_max"},
    "quantization": {"warmup_steps": 10},
    "train": {"batch_size": 16, "lr_warmup_steps": 5, "early_stopping_patience": 0,
              "threads": 1, "seed": 1},
}

TINY_SEQ2SEQ = {
    "task": "seq2seq",
    "data": {"text_column": "word", "label_columns": ["pronunciation"]},
    "seq2seq": {"dim": 32, "num_heads": 2, "intermediate_size": 64, "encoder_layers": 1,
                "decoder_layers": 1, "max_source": 24, "max_target": 48, "dropout": 0.0,
                "beam_size": 2, "length_penalty": 0.6, "eval_sources": 10},
    "quantization": {"enabled": True, "warmup_steps": 10},
    "train": {"batch_size": 16, "max_steps": 30, "learning_rate": 0.003, "lr_warmup_steps": 5,
              "eval_every_steps": 30, "seed": 3, "threads": 1},
}


def head(src, dst, rows):
    """The header and the first `rows` data lines of a TSV file."""
    with open(src, encoding="utf-8", newline="") as f:
        lines = f.readlines()[: rows + 1]
    with open(dst, "w", encoding="utf-8", newline="") as f:
        f.writelines(lines)
    return dst


def tsv_texts(path):
    """The first column of every data line of a TSV file (what the test feeds both sides)."""
    with open(path, encoding="utf-8", newline="") as f:
        rows = f.read().split("\n")[1:]
    return [r.split("\t")[0] for r in rows if r]


@pytest.fixture(scope="session")
def cli():
    path = os.environ.get("BYTELITE_CLI", os.path.join(REPO, "build", "bytelite"))
    if not os.path.exists(path):
        pytest.fail("expected the bytelite executable at %s (set BYTELITE_CLI), found none" % path)
    return path


def run_cli(cli, *args, check=True):
    r = subprocess.run([cli, *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise AssertionError("bytelite %s failed (%d): %s" % (" ".join(args), r.returncode,
                                                              r.stderr))
    return r


@pytest.fixture(scope="session")
def olid_small(tmp_path_factory):
    d = tmp_path_factory.mktemp("olid")
    return {
        "train": head(os.path.join(REPO, "data/olid/train.tsv"), str(d / "train.tsv"), 600),
        "valid": head(os.path.join(REPO, "data/olid/valid.tsv"), str(d / "valid.tsv"), 150),
        "test": os.path.join(REPO, "data/olid/test.tsv"),
    }


@pytest.fixture(scope="session")
def qat_model(cli, olid_small, tmp_path_factory):
    """A tiny QAT ByteQRNN trained for 40 steps by the CLI; returns its output directory."""
    d = tmp_path_factory.mktemp("cli_model")
    cfg = d / "tiny.json"
    cfg.write_text(json.dumps(TINY_CLASSIFIER))
    run_cli(cli, "train", "--config", str(cfg), "--train", olid_small["train"], "--valid",
            olid_small["valid"], "--out", str(d / "out"), "--max-steps", "40", "--quiet")
    assert os.path.exists(d / "out" / "model.blt")
    return str(d / "out")


@pytest.fixture(scope="session")
def seq2seq_model(tmp_path_factory):
    """A tiny seq2seq (G2P) model trained for 30 steps through bytelite.train."""
    import bytelite
    d = tmp_path_factory.mktemp("s2s")
    train = head(os.path.join(REPO, "data/cmudict/g2p_train.tsv"), str(d / "train.tsv"), 400)
    valid = head(os.path.join(REPO, "data/cmudict/g2p_valid.tsv"), str(d / "valid.tsv"), 30)
    summary = bytelite.train(TINY_SEQ2SEQ, train=train, valid=valid, out=str(d / "out"))
    assert summary["task"] == "seq2seq" and summary["steps"] == 30
    return {"model": summary["model"], "valid": valid, "dir": str(d / "out")}
