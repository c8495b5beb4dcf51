"""The study's final stage and measurements: seeds at an equal budget, speed alone, two evaluators."""
