"""Reports for managers: response times, volume, incidents; the FOI export (policy 6.0) and retention."""
