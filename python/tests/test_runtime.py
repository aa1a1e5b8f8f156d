"""The runtime half of the bindings (bytelite._runtime, no libtorch): predictions equal the
CLI's bit for bit, info equals `info --json`, threads, error paths, and that importing bytelite
and predicting maps no libtorch."""

import json
import os
import shutil
import subprocess
import sys
import threading

import numpy as np
import pytest

import bytelite
from conftest import REPO, run_cli, tsv_texts


def cli_predict(cli, model, texts, tmp_path, threads=2):
    inp = tmp_path / "texts.txt"
    with open(inp, "w", encoding="utf-8", newline="") as f:
        f.write("\n".join(texts) + "\n")
    out = run_cli(cli, "predict", "--model", model, "--input", str(inp), "--threads",
                  str(threads)).stdout
    return [json.loads(line) for line in out.splitlines()]


@pytest.fixture(scope="module")
def olid_test_texts():
    texts = tsv_texts(os.path.join(REPO, "data/olid/test.tsv"))
    assert len(texts) == 860
    # the CLI's input framing is one text per line
    assert not any("\n" in t or t.endswith("\r") for t in texts)
    return texts


def test_predict_equals_cli_bit_for_bit_on_olid_test(cli, qat_model, olid_test_texts, tmp_path):
    model = os.path.join(qat_model, "model.blt")
    clf = bytelite.Classifier(model)
    labels, probs = clf.predict(olid_test_texts)
    assert clf.labels == ["not-offensive", "offensive"]
    assert isinstance(probs, np.ndarray) and probs.dtype == np.float32
    assert probs.shape == (860, 2)
    assert len(labels) == 860 and all(len(l) == 1 for l in labels)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    ref = cli_predict(cli, model, olid_test_texts, tmp_path)
    assert len(ref) == 860
    for i, r in enumerate(ref):
        assert r["labels"] == labels[i], i
        # the CLI prints each float32 probability exactly (as a double): compare exactly
        assert [r["scores"][name] for name in clf.labels] == [float(p) for p in probs[i]], i
    # the model is not constant: both labels are predicted on the test set
    assert {l[0] for l in labels} == set(clf.labels)


def test_predict_is_independent_of_threads_and_accepts_bytes(qat_model, olid_test_texts):
    clf = bytelite.Classifier(os.path.join(qat_model, "model.blt"))
    texts = olid_test_texts[:200]
    l1, p1 = clf.predict(texts, threads=1)
    l3, p3 = clf.predict(texts, threads=3)
    assert l1 == l3 and np.array_equal(p1, p3)
    lb, pb = clf.predict([t.encode("utf-8") for t in texts])
    assert lb == l1 and np.array_equal(pb, p1)
    # empty input, empty text, bytes that are not UTF-8
    l0, p0 = clf.predict([])
    assert l0 == [] and p0.shape == (0, 2)
    le, pe = clf.predict(["", b"\xff\xfe\x00abc"])
    assert pe.shape == (2, 2) and np.all((pe >= 0) & (pe <= 1))


def test_python_threads_predicting_at_once_equal_one_thread(qat_model, olid_test_texts):
    clf = bytelite.Classifier(os.path.join(qat_model, "model.blt"))
    want_labels, want_probs = clf.predict(olid_test_texts)
    results = [None] * 6
    errors = []

    def work(k):
        try:
            # each thread predicts the set in a different order, in chunks
            order = list(range(len(olid_test_texts)))[k:] + list(range(k))
            got_l, got_p = [None] * len(order), np.zeros_like(want_probs)
            for s in range(0, len(order), 97):
                idx = order[s:s + 97]
                l, p = clf.predict([olid_test_texts[i] for i in idx], threads=1 + k % 2)
                for j, i in enumerate(idx):
                    got_l[i] = l[j]
                    got_p[i] = p[j]
            results[k] = (got_l, got_p)
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for got_l, got_p in results:
        assert got_l == want_labels
        assert np.array_equal(got_p, want_probs)


def test_info_equals_cli_info_json(cli, qat_model):
    model = os.path.join(qat_model, "model.blt")
    info = bytelite.Classifier(model).info
    assert info == json.loads(run_cli(cli, "info", "--json", model).stdout)
    assert info["architecture"] == "byteqrnn" and info["labels"] == ["not-offensive", "offensive"]
    assert info["config"]["embedding_size"] == 8 and info["max_length"] == 64


IMPORT_AND_PREDICT = r"""
import sys, json
import bytelite
clf = bytelite.Classifier(sys.argv[1])
labels, probs = clf.predict(["you are great", "@user shut up idiot"])
report = bytelite.evaluate(sys.argv[1], sys.argv[2])
assert 0 <= report["macro_f1"] <= 1, report
maps = open("/proc/self/maps").read()
mods = sorted(m for m in sys.modules if m.startswith("bytelite"))
print(json.dumps({"labels": labels, "n": int(probs.shape[0]), "modules": mods,
                  "torch": [l for l in maps.splitlines()
                            if "libtorch" in l or "libc10" in l]}))
"""


def test_import_predict_and_evaluate_a_model_map_no_libtorch(qat_model):
    env = dict(os.environ)
    r = subprocess.run([sys.executable, "-c", IMPORT_AND_PREDICT,
                        os.path.join(qat_model, "model.blt"),
                        os.path.join(REPO, "data/olid/valid.tsv")],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["n"] == 2 and len(out["labels"]) == 2
    assert "bytelite._train" not in out["modules"]
    assert "bytelite._runtime" in out["modules"]
    assert out["torch"] == []


def test_train_module_does_map_libtorch():
    """The check above can fail: the training module maps libtorch once it is used."""
    r = subprocess.run([sys.executable, "-c",
                        "import bytelite._train; print(any('libtorch' in l for l in "
                        "open('/proc/self/maps')))"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "True"


def one_line_cli_error(cli, *args):
    r = run_cli(cli, *args, check=False)
    assert r.returncode == 1
    assert r.stderr.startswith("bytelite: error: ")
    return r.stderr[len("bytelite: error: "):].rstrip("\n")


def test_missing_model_file_raises_model_file_error_with_the_cli_message(cli, tmp_path):
    missing = str(tmp_path / "nope.blt")
    with pytest.raises(bytelite.ModelFileError) as e:
        bytelite.Classifier(missing)
    assert isinstance(e.value, OSError) and isinstance(e.value, bytelite.Error)
    assert str(e.value) == one_line_cli_error(cli, "info", missing)
    assert "nope.blt" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(bytelite.ModelFileError):
        bytelite.Seq2Seq(missing)


def test_corrupt_model_file_raises_model_file_error(cli, qat_model, tmp_path):
    bad = tmp_path / "corrupt.blt"
    data = bytearray(open(os.path.join(qat_model, "model.blt"), "rb").read())
    data[len(data) // 2] ^= 0x5A  # a payload byte: the checksum no longer matches
    bad.write_bytes(bytes(data))
    with pytest.raises(bytelite.ModelFileError) as e:
        bytelite.Classifier(str(bad))
    assert "checksum" in str(e.value)
    assert str(e.value) == one_line_cli_error(cli, "info", str(bad))
    text = tmp_path / "text.blt"
    text.write_text("not a model at all, just some text of a reasonable length...\n")
    with pytest.raises(bytelite.ModelFileError, match="text.blt"):
        bytelite.Classifier(str(text))


def test_classifier_model_given_to_seq2seq_raises_invalid_argument(qat_model):
    with pytest.raises(bytelite.InvalidArgument) as e:
        bytelite.Seq2Seq(os.path.join(qat_model, "model.blt"))
    assert isinstance(e.value, ValueError)
    assert "expected a seq2seq model (architecture byteseq2seq), found" in str(e.value)


def test_bad_arguments(qat_model):
    clf = bytelite.Classifier(os.path.join(qat_model, "model.blt"))
    with pytest.raises(TypeError, match="single str"):
        clf.predict("one text")
    with pytest.raises(TypeError, match=r"texts\[1\]: expected str or bytes, found int"):
        clf.predict(["a", 3])
    with pytest.raises(bytelite.InvalidArgument, match="threads: expected an integer >= 1, "
                                                       "found 0"):
        clf.predict(["a"], threads=0)
    with pytest.raises(bytelite.ConfigError, match="isa: expected one of"):
        bytelite.Classifier(os.path.join(qat_model, "model.blt"), isa="sse9")
    assert "reference" in bytelite.available_isas()
    ref = bytelite.Classifier(os.path.join(qat_model, "model.blt"), isa="reference")
    assert ref.isa == "reference"
    texts = ["abc", "some longer text with CAPITALS and émojis 😂"]
    assert np.array_equal(ref.predict(texts)[1], clf.predict(texts)[1])


def test_evaluate_model_equals_cli_eval_json(cli, qat_model):
    model = os.path.join(qat_model, "model.blt")
    data = os.path.join(REPO, "data/olid/test.tsv")
    got = bytelite.evaluate(model, data, threads=3)
    want = json.loads(run_cli(cli, "eval", "--model", model, "--data", data, "--json").stdout)
    assert got == want
    assert 0.3 <= got["accuracy"] <= 1 and 0 <= got["roc_auc"] <= 1
    with pytest.raises(bytelite.ConfigError, match="beam_size applies to seq2seq models only"):
        bytelite.evaluate(model, data, beam_size=2)


def test_evaluate_bad_data_file_raises_input_error(cli, qat_model, tmp_path):
    model = os.path.join(qat_model, "model.blt")
    bad = tmp_path / "bad.tsv"
    bad.write_text("text\tlabel\nfine\toffensive\nthis row has no label column\n")
    with pytest.raises(bytelite.InputError) as e:
        bytelite.evaluate(model, str(bad))
    assert isinstance(e.value, ValueError) and "bad.tsv" in str(e.value)
    assert str(e.value) == one_line_cli_error(cli, "eval", "--model", model, "--data", str(bad))
    assert bytelite.evaluate(model, str(bad), skip_bad_rows=True)["examples"] == 1
    with pytest.raises(bytelite.InputError, match="missing.tsv"):
        bytelite.evaluate(model, str(tmp_path / "missing.tsv"))


def _without_speed(html):
    # the examples/s row is a timing: the one part of the page that differs between runs
    return "\n".join(l for l in html.splitlines() if "int8 speed" not in l)


def test_report_equals_cli_report(cli, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(os.path.join(REPO, "tests/data/report/byteqrnn_run"), run)
    data = os.path.join(REPO, "data/olid/test.tsv")
    out = bytelite.report(run, data, out=tmp_path / "py.html", agreement=False)
    assert out == str(tmp_path / "py.html")
    run_cli(cli, "report", str(run), "--data", data, "--no-agreement", "--out",
            str(tmp_path / "cli.html"))
    py_html = (tmp_path / "py.html").read_text()
    assert _without_speed(py_html) == _without_speed((tmp_path / "cli.html").read_text())
    for fig in ("fig-loss", "fig-lr", "fig-metric", "fig-roc", "fig-pr", "fig-confusion"):
        assert 'id="%s"' % fig in py_html
    # without data: the card and the curves only, written to RUN/report.html by default
    assert bytelite.report(run) == os.path.join(str(run), "report.html")
    assert 'id="fig-roc"' not in (run / "report.html").read_text()
    with pytest.raises(bytelite.InputError, match="expected a training output directory"):
        bytelite.report(tmp_path / "missing")
    with pytest.raises(bytelite.ConfigError, match="threads"):
        bytelite.report(run, threads=0)
