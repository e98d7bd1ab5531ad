"""What runs commands and keeps running: the command writer and its unit of work, the writer
process and its socket, HTTP worker processes, the background duties (projections and the
policies' reactions) and the outcomes they answer with."""
