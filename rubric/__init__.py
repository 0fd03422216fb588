"""The maturity model as data: maturity-model.yaml (validated by schema.json), shipped as package data."""
