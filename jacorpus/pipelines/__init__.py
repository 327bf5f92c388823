"""Recipes and the engines that run them (datatrove local/Slurm, Spark)."""
