"""Run every CPU benchmark in turn (each in its own process, so thread pools start fresh).

    python bench/run_all.py            # the figures recorded in bench/RESULTS.md
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = ["bench_ops.py", "bench_init.py", "bench_linear.py", "bench_mlp.py", "bench_conv.py",
           "bench_optim.py", "bench_rnn.py"]


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    failed = []
    for script in SCRIPTS:
        print(f"\n=== {script}", flush=True)
        rc = subprocess.call([sys.executable, os.path.join(HERE, script)] + argv)
        if rc:
            failed.append(script)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
