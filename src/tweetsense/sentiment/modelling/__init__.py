"""Building, measuring and serving sentiment models: fine-tuning and exporting the transformer,
fitting the linear model, evaluation metrics, and the HTTP model server. Training needs the
``train`` extra; nothing here is imported when posts are scored."""
