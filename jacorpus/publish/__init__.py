"""Dataset, tokenizer and model cards, plots, and Hugging Face Hub publishing."""
