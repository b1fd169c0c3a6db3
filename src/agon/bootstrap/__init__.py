"""The embedded default population: a tokenizer and tiny Llama models built and fine-tuned offline."""
