"""Token shards, objectives and a compact DeepSpeed trainer that exports Hugging Face models."""
