"""``python -m jacorpus.train run RECIPE``: the entry for launchers (``deepspeed --module jacorpus.train``,
``torchrun -m jacorpus.train``). The deepspeed launcher adds ``--local_rank=N`` first; LOCAL_RANK says the same."""

import sys

from jacorpus.train.cli import train_app

if __name__ == "__main__":
    sys.argv = [a for a in sys.argv if not a.startswith(("--local_rank=", "--local-rank="))]
    train_app(prog_name="python -m jacorpus.train")
