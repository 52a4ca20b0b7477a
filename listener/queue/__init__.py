"""The reply queue: views, counts and claims; SLA due times in business hours and pre-breach warnings."""
