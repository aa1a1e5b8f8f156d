#!/usr/bin/python3
"""Tests of scripts/check_paths.py on made-up files (ctest: check_paths_detects_missing).

Each case writes a temporary file, runs the checker on it against this repository, and checks
the exit status and the reported paths. Run: /usr/bin/python3 tests/test_check_paths.py
"""

import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "scripts", "check_paths.py")


def check(name, text):
    """Runs the checker on a temp file NAME holding TEXT: (exit status, output lines)."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        r = subprocess.run([sys.executable, SCRIPT, "--root", ROOT, path],
                           capture_output=True, text=True, check=False)
        return r.returncode, r.stdout.strip().split("\n")


class CheckPaths(unittest.TestCase):
    def test_missing_path_in_markdown_fails_and_names_it(self):
        code, out = check("doc.md", "ok: `src/core/dataset.h`\nsee `src/train/no_such_file.cc`.\n")
        self.assertEqual(code, 1)
        self.assertEqual(len(out), 2)
        self.assertTrue(out[0].endswith(
            ":2: cites src/train/no_such_file.cc, which does not exist in the repository"), out)

    def test_missing_bare_top_level_name_fails(self):
        code, out = check("notes.md", "The boundary is described in ARCHITECTURE.md.\n")
        self.assertEqual(code, 1)
        self.assertIn("cites ARCHITECTURE.md,", out[0])

    def test_cxx_comments_are_checked_but_not_code(self):
        code, out = check("x.cc", '// Mirrors src/train/byteqrnn.cc\n'
                                  'const char* p = "src/not/a/comment.cc";\n'
                                  '/* and include/bytelite/none.h */\n')
        self.assertEqual(code, 1)
        self.assertEqual(len(out), 3, out)
        self.assertIn(":1: cites src/train/byteqrnn.cc,", out[0])
        self.assertIn(":3: cites include/bytelite/none.h,", out[1])

    def test_shell_comments_are_checked(self):
        code, out = check("x.sh", "#!/bin/bash\n# uses scripts/nope.sh\necho scripts/code_only.sh\n")
        self.assertEqual(code, 1)
        self.assertIn(":2: cites scripts/nope.sh,", out[0])
        self.assertEqual(len(out), 2, out)

    def test_existing_paths_globs_braces_and_placeholders_pass(self):
        text = "\n".join([
            "`src/runtime/model_file.{h,cc}` and `src/train/seq2seq.*`, `docs/`",
            "`tests/data/models/v1/NAME.blt` (placeholder), `configs/<encoder>_<data>.json`",
            "`bytelite eval --checkpoint DIR --model DIR/model.blt` writes runs/x/data/out.tsv",
            "`build/bytelite`, $OUT/data/g2p.tsv, examples/s, `examples/seq2seq_g2p steps=1`",
            "data/olid/SOURCE.md; each with its SOURCE.md; README.md",
            "Origin: GitHub `t-davidson/x`, path `data/labeled_data.csv`",
        ]) + "\n"
        code, out = check("ok.md", text)
        self.assertEqual(code, 0, out)
        self.assertIn("every cited path exists", out[-1])

    def test_brace_alternative_that_is_missing_fails(self):
        code, out = check("b.md", "`src/runtime/model_file.{h,cc,py}`\n")
        self.assertEqual(code, 1)
        self.assertIn("cites src/runtime/model_file.py,", out[0])

    def test_glob_matching_nothing_fails(self):
        code, out = check("g.md", "`src/runtime/models/byteqrnn.*`\n")
        self.assertEqual(code, 1)
        self.assertIn("cites src/runtime/models/byteqrnn.*,", out[0])

    def test_json_comment_is_checked(self):
        code, out = check("c.json", '{\n  "comment": "see configs/missing.json",\n'
                                    '  "path": "configs/also_missing.json"\n}\n')
        self.assertEqual(code, 1)
        self.assertEqual(len(out), 2, out)
        self.assertIn(":2: cites configs/missing.json,", out[0])


if __name__ == "__main__":
    unittest.main()
