"""Entry point for ``spark-submit``: the same recipe file the local engine runs.

    spark-submit --master local[2] jacorpus/pipelines/spark_submit.py recipes/demo.yaml [--output DIR] [--overwrite]

The master comes from spark-submit (``--master``); executors need jacorpus and its dependencies (see docs/spark.md).
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="spark_submit.py", description=__doc__.splitlines()[0])
    parser.add_argument("recipe")
    parser.add_argument("--output", default=None)
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)

    from jacorpus.pipelines.plan import build_plan
    from jacorpus.pipelines.recipe import RecipeError, load_recipe
    from jacorpus.pipelines.report import print_funnel
    from jacorpus.pipelines.spark import run_spark

    try:
        plan = build_plan(load_recipe(args.recipe), args.output)
    except RecipeError as exc:
        print(exc, file=sys.stderr)
        return 2
    manifest = run_spark(plan, master=None, overwrite=args.overwrite)  # master comes from spark-submit
    print_funnel(manifest, plan.output_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
