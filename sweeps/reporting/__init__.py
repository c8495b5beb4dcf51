"""The report's data, figures, four questions, page and hyperparameter importance; no Ray."""
