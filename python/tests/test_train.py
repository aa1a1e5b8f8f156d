"""The training half of the bindings (bytelite._train, libtorch): training and exporting from
Python, seq2seq generation against the CLI, pretraining, and the error paths."""

import copy
import json
import os

import numpy as np
import pytest

import bytelite
from conftest import REPO, TINY_CLASSIFIER, run_cli, tsv_texts


@pytest.fixture(scope="module")
def py_model(olid_small, tmp_path_factory):
    """A tiny QAT classifier trained from Python with a dict config and a progress callback."""
    out = str(tmp_path_factory.mktemp("py_train") / "out")
    records = []
    summary = bytelite.train(TINY_CLASSIFIER, train=olid_small["train"],
                             valid=olid_small["valid"], out=out, max_steps=30,
                             progress=records.append)
    return {"out": out, "summary": summary, "records": records}


def test_train_from_python_writes_the_model_and_reports_progress(py_model):
    s, out = py_model["summary"], py_model["out"]
    assert s["steps"] == 30 and s["qat"] is True and s["threads"] == 1
    assert s["model"] == os.path.join(out, "model.blt") and os.path.exists(s["model"])
    assert s["model_bytes"] == os.path.getsize(s["model"])
    assert json.load(open(os.path.join(out, "summary.json"))) == s
    # one record per evaluation (the run ends with one), the same as train_log.jsonl
    log = [json.loads(l) for l in open(os.path.join(out, "train_log.jsonl"))]
    assert py_model["records"] == log and len(log) >= 1
    assert log[-1]["step"] == 30 and 0 <= log[-1]["valid"]["macro_f1"] <= 1
    assert s["best_valid_metric"] == max(r["valid"]["macro_f1"] for r in log)
    clf = bytelite.Classifier(s["model"])
    assert clf.info["training_step"] == s["best_step"]


def test_train_from_python_equals_the_cli(cli, py_model, olid_small, tmp_path):
    """Same config, data, seed and threads: the CLI trains the same model (the files differ
    only in the checkpoint path they record), so the predictions are identical."""
    cfg = tmp_path / "tiny.json"
    cfg.write_text(json.dumps(TINY_CLASSIFIER))
    run_cli(cli, "train", "--config", str(cfg), "--train", olid_small["train"], "--valid",
            olid_small["valid"], "--out", str(tmp_path / "out"), "--max-steps", "30", "--quiet")
    assert json.load(open(tmp_path / "out" / "summary.json"))["best_valid_metric"] == \
        py_model["summary"]["best_valid_metric"]
    texts = tsv_texts(olid_small["valid"])
    mine = bytelite.Classifier(py_model["summary"]["model"]).predict(texts)
    theirs = bytelite.Classifier(str(tmp_path / "out" / "model.blt")).predict(texts)
    assert mine[0] == theirs[0] and np.array_equal(mine[1], theirs[1])


def test_export_from_python_reproduces_the_trained_model(py_model, tmp_path):
    out = str(tmp_path / "again.blt")
    s = bytelite.export(os.path.join(py_model["out"], "best.ckpt"), out)
    assert s["task"] == "classify" and s["path"] == out
    assert s["model_bytes"] == os.path.getsize(out) and s["parameter_count"] > 0
    # the file records the checkpoint path it came from, so compare the predictions
    texts = ["@user you are an idiot", "have a nice day", ""]
    a = bytelite.Classifier(out).predict(texts)
    b = bytelite.Classifier(py_model["summary"]["model"]).predict(texts)
    assert a[0] == b[0] and np.array_equal(a[1], b[1])


def test_progress_callback_exception_stops_training(olid_small, tmp_path):
    class Stop(Exception):
        pass

    def progress(record):
        raise Stop("at step %d" % record["step"])

    cfg = copy.deepcopy(TINY_CLASSIFIER)
    cfg["train"]["eval_every_steps"] = 5
    with pytest.raises(Stop, match="at step 5"):
        bytelite.train(cfg, train=olid_small["train"], valid=olid_small["valid"],
                       out=str(tmp_path / "out"), max_steps=20, progress=progress)
    assert not os.path.exists(tmp_path / "out" / "summary.json")


def test_seq2seq_generate_equals_cli(cli, seq2seq_model, tmp_path):
    model = seq2seq_model["model"]
    s2s = bytelite.Seq2Seq(model)
    assert s2s.info["architecture"] == "byteseq2seq"
    assert s2s.info == json.loads(run_cli(cli, "info", "--json", model).stdout)
    words = [l.split("\t")[0] for l in open(seq2seq_model["valid"]).read().splitlines()[1:]]
    got = s2s.generate(words, beam_size=3, n_best=2, max_len=30, length_penalty=0.5)
    inp = tmp_path / "words.txt"
    inp.write_text("\n".join(words) + "\n")
    ref = [json.loads(l) for l in run_cli(
        cli, "generate", "--model", model, "--input", str(inp), "--beam-size", "3", "--n-best",
        "2", "--max-len", "30", "--length-penalty", "0.5").stdout.splitlines()]
    assert len(got) == len(ref) == len(words)
    for hyps, r in zip(got, ref):
        assert [(h.text, h.score, h.log_prob, h.finished) for h in hyps] == \
            [(x["text"], x["score"], x["log_prob"], x["finished"]) for x in r["hypotheses"]]
        assert 1 <= len(hyps) <= 2 and hyps[0].score >= hyps[-1].score
        for h in hyps:
            assert h.bytes == h.text.encode() and len(h.ids) <= 30 and h.log_prob <= 0
    assert s2s.generate(words, beam_size=3, n_best=2, max_len=30, length_penalty=0.5,
                        threads=3)[5][0].score == got[5][0].score
    # defaults: the model's beam size and length penalty
    d = s2s.generate(words[:3])
    assert [len(h) for h in d] == [1, 1, 1]
    empty = s2s.generate([""])[0]
    assert len(empty) == 1 and empty[0].ids == [] and not empty[0].finished


def test_seq2seq_errors(seq2seq_model):
    s2s = bytelite.Seq2Seq(seq2seq_model["model"])
    with pytest.raises(bytelite.InvalidArgument, match=r"n_best must be in \[1, beam_size = 2\]"):
        s2s.generate(["abc"], beam_size=2, n_best=3)
    with pytest.raises(bytelite.InvalidArgument, match="beam_size: expected an integer in"):
        s2s.generate(["abc"], beam_size=0)
    with pytest.raises(bytelite.InvalidArgument, match="max_len"):
        s2s.generate(["abc"], max_len=1000)
    with pytest.raises(bytelite.InvalidArgument, match="length_penalty"):
        s2s.generate(["abc"], length_penalty=-1.0)
    # wrong architecture: a seq2seq model is no classifier
    with pytest.raises(bytelite.InvalidArgument) as e:
        bytelite.Classifier(seq2seq_model["model"])
    assert str(e.value).startswith("Classifier: expected a classifier model, found "
                                   "architecture byteseq2seq")


def test_bad_config_key_raises_config_error(olid_small, tmp_path):
    cfg = copy.deepcopy(TINY_CLASSIFIER)
    cfg["model"]["qrnn_layer"] = 2  # a typo
    with pytest.raises(bytelite.ConfigError) as e:
        bytelite.train(cfg, train=olid_small["train"], valid=olid_small["valid"],
                       out=str(tmp_path / "out"))
    assert isinstance(e.value, ValueError)
    assert str(e.value).startswith("<config dict>: ") and "qrnn_layer" in str(e.value)
    assert "\n" not in str(e.value)
    # the same key in a file: the CLI's message
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(cfg))
    with pytest.raises(bytelite.ConfigError, match="bad.json.*qrnn_layer"):
        bytelite.train(str(path), train=olid_small["train"], valid=olid_small["valid"],
                       out=str(tmp_path / "out"))
    with pytest.raises(bytelite.ConfigError, match="unknown override 'max_step'"):
        bytelite.train(TINY_CLASSIFIER, train=olid_small["train"], valid=olid_small["valid"],
                       out=str(tmp_path / "out"), max_step=3)
    with pytest.raises(bytelite.ConfigError, match="qat: expected"):
        bytelite.train(TINY_CLASSIFIER, train=olid_small["train"], valid=olid_small["valid"],
                       out=str(tmp_path / "out"), qat="maybe")
    with pytest.raises(bytelite.ConfigError, match="missing.json: expected a readable JSON config file, found one that cannot be opened"):
        bytelite.train(str(tmp_path / "missing.json"), train=olid_small["train"],
                       valid=olid_small["valid"], out=str(tmp_path / "out"))


def test_set_overrides_any_config_key_like_the_cli(cli, olid_small, tmp_path):
    """set={"section.key": value} is the CLI's --set: the same run as --set on the command line
    (same best validation metric and predictions), the caller's dict left unchanged."""
    cfg = copy.deepcopy(TINY_CLASSIFIER)
    settings = {"train.batch_size": 8, "model.qrnn_state_size": 4}
    s = bytelite.train(cfg, train=olid_small["train"], valid=olid_small["valid"],
                       out=str(tmp_path / "py"), max_steps=12, set=settings)
    assert cfg == TINY_CLASSIFIER
    used = json.load(open(tmp_path / "py" / "config.json"))["config"]
    assert used["train"]["batch_size"] == 8 and used["model"]["qrnn_state_size"] == 4
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(TINY_CLASSIFIER))
    run_cli(cli, "train", "--config", str(path), "--train", olid_small["train"], "--valid",
            olid_small["valid"], "--out", str(tmp_path / "cli"), "--max-steps", "12", "--quiet",
            "--set", "train.batch_size=8", "--set", "model.qrnn_state_size=4")
    assert json.load(open(tmp_path / "cli" / "summary.json"))["best_valid_metric"] == \
        s["best_valid_metric"]
    texts = tsv_texts(olid_small["valid"])
    mine = bytelite.Classifier(s["model"]).predict(texts)
    theirs = bytelite.Classifier(str(tmp_path / "cli" / "model.blt")).predict(texts)
    assert mine[0] == theirs[0] and np.array_equal(mine[1], theirs[1])
    # a path config takes settings too; bad keys are one-line ConfigErrors
    s2 = bytelite.train(str(path), train=olid_small["train"], valid=olid_small["valid"],
                        out=str(tmp_path / "py2"), max_steps=2, set={"train.batch_size": 8})
    assert s2["steps"] == 2
    with pytest.raises(bytelite.ConfigError, match="expected a key 'section.key', found 'batch'"):
        bytelite.train(cfg, train=olid_small["train"], valid=olid_small["valid"],
                       out=str(tmp_path / "x"), set={"batch": 8})
    with pytest.raises(bytelite.ConfigError, match="qrnn_layer"):
        bytelite.train(cfg, train=olid_small["train"], valid=olid_small["valid"],
                       out=str(tmp_path / "x"), set={"model.qrnn_layer": 2})
    with pytest.raises(bytelite.ConfigError, match="missing.json: expected a readable JSON config file, found one that cannot be opened"):
        bytelite.train(str(tmp_path / "missing.json"), train=olid_small["train"],
                       valid=olid_small["valid"], out=str(tmp_path / "x"),
                       set={"train.batch_size": 8})


def test_bad_data_file_raises_input_error(cli, olid_small, tmp_path):
    missing = str(tmp_path / "missing.tsv")
    with pytest.raises(bytelite.InputError) as e:
        bytelite.train(TINY_CLASSIFIER, train=missing, valid=olid_small["valid"],
                       out=str(tmp_path / "out"), max_steps=2)
    assert isinstance(e.value, ValueError) and "missing.tsv" in str(e.value)
    bad = tmp_path / "bad.tsv"
    bad.write_text("text\tlabel\nfine\toffensive\nno label column here\n")
    with pytest.raises(bytelite.InputError) as e:
        bytelite.train(TINY_CLASSIFIER, train=str(bad), valid=olid_small["valid"],
                       out=str(tmp_path / "out"), max_steps=2)
    cfg = tmp_path / "tiny.json"
    cfg.write_text(json.dumps(TINY_CLASSIFIER))
    r = run_cli(cli, "train", "--config", str(cfg), "--train", str(bad), "--valid",
                olid_small["valid"], "--out", str(tmp_path / "out2"), "--max-steps", "2",
                "--quiet", check=False)
    assert r.returncode == 1 and r.stderr == "bytelite: error: %s\n" % e.value


def test_export_errors(py_model, tmp_path):
    with pytest.raises(bytelite.ModelFileError, match="nothing.ckpt"):
        bytelite.export(str(tmp_path / "nothing.ckpt"), str(tmp_path / "m.blt"))


def test_pretrain_from_python(tmp_path):
    corpus = tmp_path / "corpus.txt"
    lines = open(os.path.join(REPO, "data/olid/train.tsv"), encoding="utf-8").read().split("\n")
    corpus.write_text("\n".join(l.split("\t")[0] for l in lines[1:400]) + "\n")
    cfg = {"tokenizer": {"max_length": 64},
           "model": {"embedding_size": 8, "bottleneck_size": 8, "qrnn_state_size": 8,
                     "qrnn_layers": 1},
           "quantization": {"warmup_steps": 2},
           "pretrain": {"seq_len": 64, "batch_size": 8, "steps": 100, "eval_every_steps": 3,
                        "lr_warmup_steps": 2, "threads": 1}}
    records = []
    s = bytelite.pretrain(cfg, str(corpus), str(tmp_path / "pre"), max_steps=6,
                          progress=records.append)
    assert s["steps"] == 6 and os.path.exists(s["checkpoint"])
    assert [r["step"] for r in records] == [3, 6]
    assert all(np.isfinite(r["train_loss"]) for r in records)
    with pytest.raises(bytelite.ConfigError, match="unknown override 'stepz'"):
        bytelite.pretrain(cfg, str(corpus), str(tmp_path / "pre2"), stepz=3)
    # continued pretraining from that checkpoint (init_from): a fresh run with the same seed and
    # data gives the same losses unless the weights were loaded
    fresh, cont = [], []
    bytelite.pretrain(cfg, str(corpus), str(tmp_path / "fresh"), max_steps=3,
                      progress=fresh.append)
    c = bytelite.pretrain(cfg, str(corpus), str(tmp_path / "cont"), max_steps=3,
                          init_from=str(tmp_path / "pre"), progress=cont.append)
    assert c["init_from"] == str(tmp_path / "pre")
    assert cont[0]["train_loss"] != fresh[0]["train_loss"]
    with pytest.raises(bytelite.ModelFileError, match="not found"):
        bytelite.pretrain(cfg, str(corpus), str(tmp_path / "bad"), max_steps=3,
                          init_from=str(tmp_path / "nothing"))


def test_evaluate_checkpoint_equals_cli_eval_json(cli, py_model, olid_small):
    out, model = py_model["out"], py_model["summary"]["model"]
    data = olid_small["valid"]
    got = bytelite.evaluate(out, data, threads=1)
    want = json.loads(run_cli(cli, "eval", "--checkpoint", out, "--data", data, "--json",
                              "--threads", "1").stdout)
    assert got == want and "compare" not in got
    both = bytelite.evaluate(model, data, checkpoint=out, threads=1)
    want = json.loads(run_cli(cli, "eval", "--model", model, "--checkpoint", out, "--data", data,
                              "--json", "--threads", "1").stdout)
    assert both == want
    assert both["compare"]["max_abs_prob_diff"] < 0.1
    assert both["macro_f1"] == bytelite.evaluate(model, data)["macro_f1"]
    with pytest.raises(bytelite.ModelFileError):
        bytelite.evaluate(str(os.path.join(out, "nothing")), data)


def test_evaluate_seq2seq_model_equals_cli(cli, seq2seq_model):
    model, data = seq2seq_model["model"], seq2seq_model["valid"]
    got = bytelite.evaluate(model, data, beam_size=3, threads=2)
    want = json.loads(run_cli(cli, "eval", "--model", model, "--data", data, "--beam-size", "3",
                              "--threads", "2", "--json").stdout)
    for timing in ("decode_seconds", "words_per_second"):
        assert got.pop(timing) > 0 and want.pop(timing) > 0
    assert got == want
    rows = open(data).read().splitlines()[1:]
    assert got["rows"] == len(rows) == 30
    assert got["sources"] == len({r.split("\t")[0] for r in rows})  # distinct words
    assert got["beam_size"] == 3 and 0 <= got["wer"] <= 1
