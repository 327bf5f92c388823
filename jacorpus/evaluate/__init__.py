"""Evaluation: LM perplexity / masked-word prediction, JGLUE, text classification and medical multiple choice."""
