"""Streams: the classroom protocol, NDJSON framing, the stream server and the client library."""
