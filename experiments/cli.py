"""The command line of every tool in experiments/: argparse, but a bad argument is one line
naming the problem ("experiments/sweep.py: argument --jobs: invalid int value: 'x'") and
exit status 2, like a bad value found later; nothing is written before the arguments parse."""
import argparse
import sys


class Parser(argparse.ArgumentParser):
    def error(self, message):
        print("%s: %s (--help lists the arguments)" % (self.prog, message), file=sys.stderr)
        sys.exit(2)
