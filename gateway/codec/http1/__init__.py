"""HTTP/1.1 codecs: one server and one client state machine over interchangeable parsers (httptools or h11)."""
