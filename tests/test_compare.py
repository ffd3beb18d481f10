#!/usr/bin/python3
"""experiments/compare.py on two tiny runs of ./train made here: the settings that differ,
the final numbers against the CSV files, compare.png; bad input is one line, exit 2,
nothing written. Run by make test (tests/test_experiment.c)."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TOOL = os.path.join(ROOT, "experiments", "compare.py")
TINY = ["--dataset", "repeat", "--d", "8", "--layers", "2", "--steps", "8", "--train-size", "200",
        "--test-size", "50", "--batch", "16", "--threads", "1", "--probe-size", "8", "--log-every", "2"]


def compare(*args):
    return subprocess.run([sys.executable, TOOL] + list(args), capture_output=True, text=True)


class Compare(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="compare-test-")
        cls.a = os.path.join(cls.tmp, "noise 1")
        cls.b = os.path.join(cls.tmp, "noise 0 $x$")   # a $ would be mathtext to matplotlib
        for path, noise in ((cls.a, "1"), (cls.b, "0")):
            subprocess.run([os.path.join(ROOT, "train")] + TINY + ["--noise-scale", noise, "--run-dir", path],
                           check=True, capture_output=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def last(self, run, name, column):
        with open(os.path.join(run, name)) as f:
            return float(f.read().strip().splitlines()[-1].split(",")[column])

    def test_report_and_picture(self):
        out = os.path.join(self.tmp, "out", "deeper")
        r = compare(self.a, self.b, "--out", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertIn("settings that differ:", lines)
        differ = [l.split()[0] for l in lines[lines.index("settings that differ:") + 1:] if l.startswith("  ")]
        self.assertEqual(differ[:1], ["noise_scale"], r.stdout)   # name and run_dir name the run
        acc = [l for l in lines if l.startswith("test accuracy (%)")][0].split()
        want_a, want_b = 100 * self.last(self.a, "eval.csv", 2), 100 * self.last(self.b, "eval.csv", 2)
        self.assertEqual(acc[3:], ["%.2f" % want_a, "%.2f" % want_b, "%+.2f" % (want_b - want_a)])
        loss = [l for l in lines if l.startswith("training loss")][0].split()
        self.assertEqual(float(loss[2]), round(self.last(self.a, "train.csv", 2), 4))
        self.assertTrue(any(l.startswith("last layer at initialization (A: layer 2, step 0") for l in lines), r.stdout)
        self.assertTrue(any(l.startswith("last layer at the end (A: layer 2, step 8") for l in lines), r.stdout)
        with open(os.path.join(out, "compare.png"), "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        self.assertEqual(os.listdir(out), ["compare.png"])

    def test_same_settings(self):
        r = compare(self.a, self.a, "--out", os.path.join(self.tmp, "same"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("settings: the same", r.stdout)

    def bad(self, a, b, what, out=None):
        out = out or os.path.join(self.tmp, "never")
        r = compare(a, b, "--out", out)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn(what, r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "never")))

    def broken_copy(self, name, text):
        """A copy of run A whose file name holds text (None: removed)."""
        d = tempfile.mkdtemp(dir=self.tmp)
        shutil.rmtree(d)
        shutil.copytree(self.a, d)
        os.remove(os.path.join(d, name))
        if text is not None:
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        return d

    def test_bad_input_is_one_line_exit_2_nothing_written(self):
        self.bad(os.path.join(self.tmp, "missing"), self.b, "not a directory")
        self.bad(self.tmp, self.b, "not a run of ./train (no config.json)")
        self.bad(self.a, self.broken_copy("config.json", "{not json"), "config.json: cannot be read")
        self.bad(self.a, self.broken_copy("eval.csv", None), "eval.csv: cannot be read")
        self.bad(self.a, self.broken_copy("eval.csv", "step,loss\n1,2\n"), "eval.csv: no column test_loss, test_acc")
        self.bad(self.a, self.broken_copy("train.csv", "step,epoch,loss,acc\n"), "train.csv: no rows")
        self.bad(self.a, self.broken_copy("clusters.csv", "step,layer,mean_cos\n0,0,x\n"), "not numbers")
        self.bad(self.a, self.broken_copy("clusters.csv", "\x00\xff\n"), "clusters.csv")
        afile = os.path.join(self.tmp, "a-file")
        open(afile, "w").close()
        self.bad(self.a, self.b, "--out is not a folder", out=afile)

    def test_bad_argument_one_line(self):
        r = compare(self.a, self.b, "--no-such-flag")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn("--no-such-flag", r.stderr)
        r = compare(self.a)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)


if __name__ == "__main__":
    unittest.main()
