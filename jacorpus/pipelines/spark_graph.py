"""Graph algorithms on Spark DataFrames for dedup: skew-safe joins and connected components (large-star /
small-star), so neither a giant bucket nor a giant cluster puts all its work on one task and no edge list is ever
collected on the driver. The result equals union-find's (``clusters.py``): each node's root is its component's
smallest node."""

from __future__ import annotations

from loguru import logger

MAX_ROUNDS = 100  # large-star/small-star needs O(log^2 n) rounds; a component of 2^50 documents fits
HEAVY_KEY_CONF = "spark.jacorpus.dedup.heavyKeyRows"  # a join key with more rows than this is joined by broadcast
HEAVY_KEY_ROWS = 100_000


def skew_safe_join(big, small, key: str):
    """Inner equi-join of ``big`` (any rows per key) with ``small`` (one row per key), without a hot task.

    Keys with more than ``spark.jacorpus.dedup.heavyKeyRows`` rows in ``big`` (a giant bucket, a hub, a giant
    cluster's root) are joined map-side against a broadcast of their ``small`` rows: at most rows(big) / threshold
    of them. The other keys go through an ordinary shuffle join, where no key holds more than the threshold.
    """
    from pyspark.sql import functions as F

    threshold = int(big.sparkSession.conf.get(HEAVY_KEY_CONF, str(HEAVY_KEY_ROWS)))
    heavy = big.groupBy(key).count().where(F.col("count") > threshold).select(key)  # partial aggregation
    hot = big.join(F.broadcast(small.join(F.broadcast(heavy), key)), key)
    cold = big.join(F.broadcast(heavy), key, "left_anti").join(small, key)
    return hot.unionByName(cold)


def _materialize(frame):
    """Cut the lineage of an iteration's edges: a reliable checkpoint when the session has a checkpoint dir."""
    has_dir = frame.sparkSession.sparkContext._jsc.sc().getCheckpointDir().isDefined()
    return frame.checkpoint(eager=True) if has_dir else frame.localCheckpoint(eager=True)


def large_star(edges):
    """Each node's strictly larger neighbours are linked to the smallest node of its closed neighbourhood."""
    from pyspark.sql import functions as F

    both = edges.select(F.col("a").alias("x"), F.col("b").alias("y")).unionByName(
        edges.select(F.col("b").alias("x"), F.col("a").alias("y")))
    smallest = both.groupBy("x").agg(F.least(F.col("x"), F.min("y")).alias("m"))  # partial aggregation
    linked = skew_safe_join(both.where(F.col("y") > F.col("x")), smallest, "x")  # hub -> its many neighbours
    return linked.select(F.col("y").alias("a"), F.col("m").alias("b")).distinct()


def small_star(edges):
    """Each node and its smaller neighbours are linked to the smallest of them."""
    from pyspark.sql import functions as F

    smallest = edges.groupBy("a").agg(F.min("b").alias("m"))
    leaves = skew_safe_join(edges, smallest, "a").where(F.col("b") != F.col("m")).select(F.col("b").alias("a"), "m")
    linked = leaves.unionByName(smallest.select("a", "m"))
    return linked.select("a", F.col("m").alias("b")).distinct()


def is_star_forest(edges) -> bool:
    """True when every node has at most one smaller neighbour and no node is both a centre and a leaf."""
    from pyspark.sql import functions as F

    ends = edges.select(F.col("a").alias("n"), F.lit(1).alias("up"), F.lit(0).alias("down")).unionByName(
        edges.select(F.col("b").alias("n"), F.lit(0).alias("up"), F.lit(1).alias("down")))
    per_node = ends.groupBy("n").agg(F.sum("up").alias("up"), F.max("down").alias("down"))
    return per_node.where((F.col("up") > 1) | ((F.col("up") == 1) & (F.col("down") == 1))).isEmpty()


def connected_components(edges):
    """(node, root) for every node of the edge DataFrame ``(u, v)``; root = the component's smallest node.

    Large-star / small-star (Kiveris et al., "Connected Components in MapReduce and Beyond", 2014): O(log^2 n)
    rounds, O(log n) in practice, each round a few shuffles of the edge set, which never grows (no driver collect).
    The fixed point is a star per component around its minimum, as union-find's root.
    """
    from pyspark.sql import functions as F

    current = _materialize(edges.select(F.greatest("u", "v").alias("a"), F.least("u", "v").alias("b"))
                           .where(F.col("a") != F.col("b")).distinct())
    for rounds in range(MAX_ROUNDS):
        if is_star_forest(current):
            logger.debug(f"connected components: {rounds} large-star/small-star rounds")
            break
        current = _materialize(small_star(large_star(current)))
    else:
        raise RuntimeError(f"connected components did not converge in {MAX_ROUNDS} rounds")
    leaves = current.select(F.col("a").alias("node"), F.col("b").alias("root"))
    centres = current.select(F.col("b").alias("node"), F.col("b").alias("root")).distinct()
    return leaves.unionByName(centres)
