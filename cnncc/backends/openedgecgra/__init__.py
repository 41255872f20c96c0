"""placeholder: the backend package is being written."""
