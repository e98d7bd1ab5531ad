"""Read models: pure projection functions (event record in, row changes out) and writers."""
