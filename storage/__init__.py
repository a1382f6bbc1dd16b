"""Where Bukti keeps things: object stores for media, the database for records."""
